"""Paged lists of sessions and file sessions: filters, access narrowing, page walks and cursors."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, TypeVar

from chalicelib.api import cursors, params
from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.domain.sessions import visible_query
from chalicelib.errors import BadRequest
from chalicelib.model.sessions import Cursor, ListQuery, Page

T = TypeVar("T")


def _scope(query: ListQuery) -> str:
    # the generation too: a cursor taken before a purge is refused after it (its list is gone)
    return "|".join(str(part) for part in (query.kind, query.user_id, query.protocol, query.start, query.end,
                                           query.gen))


def list_page(
    kind: str,
    caller: Caller,
    raw_query: Mapping[str, str],
    protocols: Iterable[str],
    read_page: Callable[[ListQuery, int, int, Cursor | None], Page[T]],
    secret: str,
    current_generation: Callable[[], int] = lambda: 0,
) -> tuple[list[T], dict[str, Any]]:
    """The items of the asked page and the paging fields of the answer (page, limit, nextCursor)."""
    filters = params.list_filters(raw_query, protocols)
    page, limit = params.paging(raw_query)
    cursor = raw_query.get("cursor")
    try:
        query = visible_query(kind, caller, filters, current_generation())
    except access.NothingVisible:
        if cursor:
            raise BadRequest("invalid cursor") from None
        return [], {"page": page, "limit": limit, "nextCursor": None}
    scope = _scope(query)
    start_key = cursors.decode(cursor, scope, secret)
    skip = 0 if start_key is not None else (page - 1) * limit
    result = read_page(query, limit, skip, start_key)
    return result.items, {"page": page, "limit": limit, "nextCursor": cursors.encode(result.next_key, scope, secret)}

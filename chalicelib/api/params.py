"""Request parsing and validation: every malformed id, body or query value becomes a 400 here."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Iterable, Mapping

from chalicelib.domain.sessions import Backfill, ListFilters, Owner
from chalicelib.errors import BadRequest, UnsupportedMediaType
from chalicelib.model.clock import iso

_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
MAX_LIMIT = 2000
DEFAULT_LIMIT = 25
MAX_PAGE = 100_000
MAX_SKIPPED = 200_000  # page * limit beyond this must use the cursor: a page walk costs what it skips


def valid_id(value: Any, what: str = "id") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value) or set(value) == {"."}:
        raise BadRequest(f"{what} must be 1 to 128 letters, digits, '-', '_' or '.'")
    return value


def json_body(raw: bytes | str | None, content_type: str | None) -> Any:
    """The parsed JSON body. A body without a Content-Type is not taken as JSON: only a page that could also send
    it across sites without asking (a form, a text/plain fetch) would leave the type out."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    if not raw:
        raise BadRequest("a JSON body is required")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        parsed = json.loads(text)
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc
    except ValueError as exc:
        raise BadRequest("body is not valid JSON") from exc
    except RecursionError as exc:  # json.loads recurses once per nesting level: "[" * 100000 exhausts the stack
        raise BadRequest("body is nested too deeply") from exc
    return without_lone_surrogates(parsed) if _SURROGATE_ESCAPE.search(text) else parsed


# A JSON text can name a UTF-16 surrogate by escape ("\ud800"); json.loads joins a valid pair into one character
# and leaves a lone one in the string, which no UTF-8 encoder (boto3's, DynamoDB's) accepts. JavaScript makes them
# when it cuts a string between the two halves of a pair, and SMB names can hold them.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def without_lone_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (keys too) replaced by U+FFFD, as a UTF-8 decoder
    replaces bytes it cannot read. Iterative: the parser accepts nesting deeper than a recursion would."""
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    root = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = _SURROGATE.sub(REPLACEMENT, item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        elif isinstance(node, dict):
            for key in [k for k in node if _SURROGATE.search(k)]:
                node[_SURROGATE.sub(REPLACEMENT, key)] = node.pop(key)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = _SURROGATE.sub(REPLACEMENT, item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
    return root[0]


def json_object(
    raw: bytes | str | None, content_type: str | None, allowed: Iterable[str] | None = None
) -> dict[str, Any]:
    """The body as a JSON object; with `allowed`, any other field is a 400 (None: extra fields are ignored)."""
    body = json_body(raw, content_type)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    unknown = sorted(set(body) - set(allowed)) if allowed is not None else []
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    return body


def on_behalf(body: Mapping[str, Any]) -> Owner | None:
    """The owner an ingest token names in a body ({"userId", "username"}), if any.

    Both fields are validated whenever present, even where they go unused: a malformed field is a 400, never
    silently dropped.
    """
    username = optional_string(body, "username")
    if body.get("userId") is None:
        return None
    user_id = valid_id(body["userId"], "userId")
    return Owner(user_id, username or user_id)


def body_time(body: Mapping[str, Any], name: str, where: str | None = None) -> str | None:
    """An optional time field of a body (ISO 8601 or the gateway's form), normalised; malformed is a 400."""
    raw = body.get(name)
    what = f"{where}.{name}" if where else name
    if raw is None:
        return None
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_TIME_CHARS:
        raise BadRequest(f"{what} must be an ISO 8601 time")
    return iso_time(raw, what)


def backfill(body: Mapping[str, Any]) -> Backfill:
    """The `startedAt` / `endedAt` an importer gives (whether it may is the domain's rule)."""
    return Backfill(body_time(body, "startedAt"), body_time(body, "endedAt"))


def one_of(value: Any, choices: Iterable[str], what: str) -> str:
    options = tuple(choices)
    if value not in options:
        raise BadRequest(f"{what} must be one of: {', '.join(options)}")
    return str(value)


def optional_string(body: Mapping[str, Any], name: str, max_length: int = 256) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise BadRequest(f"{name} must be a string of 1 to {max_length} characters")
    return value


def boolean(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{what} must be true or false")
    return value


def query_int(query: Mapping[str, str], name: str, default: int, lowest: int, highest: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):  # not \d: that also takes non-ASCII digits (U+FF15 is 5)
        raise BadRequest(f"{name} must be an integer from {lowest} to {highest}")
    value = int(raw)
    if not lowest <= value <= highest:
        raise BadRequest(f"{name} must be an integer from {lowest} to {highest}")
    return value


QUERY_TRUE = ("true", "1")
QUERY_FALSE = ("false", "0")


def query_flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no query parameter: `true`/`1` or `false`/`0`; absent or empty is `default`; anything else a 400,
    never silently read as one or the other (`?download=yes` must not quietly play inline)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw in QUERY_TRUE:
        return True
    if raw in QUERY_FALSE:
        return False
    raise BadRequest(f"{name} must be one of: {', '.join(QUERY_TRUE + QUERY_FALSE)}")


MAX_TIME_CHARS = 64
# The gateway's own form (TIMESTAMP_FORMAT=gateway answers in it): UTC, to the second, a space for the "T"
GATEWAY_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def iso_time(raw: str, what: str) -> str:
    """Any ISO 8601 time (a space may stand for the "T", so the gateway's `2024-01-01 10:00:00` too; no zone is
    UTC), as the one stored form."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest(f"{what} must be an ISO 8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return iso(moment)
    except (OverflowError, ValueError) as exc:
        raise BadRequest(f"{what} is out of range") from exc


def _filter_end(raw: str) -> str:
    """`to`, inclusive. In the gateway's form it names its whole second: answers in that form are cut to the
    second, so a row's own time given as `to` still finds the row."""
    end = iso_time(raw, "to")
    return end.replace(".000Z", ".999Z") if GATEWAY_TIME.fullmatch(raw) else end


def list_filters(query: Mapping[str, str], protocols: Iterable[str]) -> ListFilters:
    user_id = query.get("userId")
    protocol = query.get("protocol")
    start = iso_time(query["from"], "from") if query.get("from") else None
    end = _filter_end(query["to"]) if query.get("to") else None
    if start is not None and end is not None and start > end:
        raise BadRequest("from must not be after to")
    return ListFilters(
        user_id=valid_id(user_id, "userId") if user_id else None,
        protocol=one_of(protocol, protocols, "protocol") if protocol else None,
        start=start,
        end=end,
    )


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    page = query_int(query, "page", 1, 1, MAX_PAGE)
    limit = query_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if (page - 1) * limit > MAX_SKIPPED:
        raise BadRequest(f"page * limit may skip at most {MAX_SKIPPED} items; use cursor for deeper pages")
    return page, limit

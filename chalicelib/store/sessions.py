"""Sessions and file sessions: their META items and the three list indexes (see keys.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from chalicelib.model.sessions import Cursor, ListQuery, Meta, Page
from chalicelib.store import generations as generation
from chalicelib.store import keys, records
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import CONDITION_FAILED, ConditionFailed, aws_errors, transact, walk_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
M = TypeVar("M", bound=Meta)


class GenerationMoved(Exception):
    """A purge moved the generation on while a record was being created in the old one: retry in the new."""


def list_index(query: ListQuery) -> str:
    if query.user_id is not None:
        return keys.BY_USER_INDEX
    if query.protocol is not None:
        return keys.BY_PROTOCOL_INDEX
    return keys.ALL_INDEX


def list_partition(query: ListQuery) -> str:
    if query.user_id is not None:
        return keys.by_user_pk(query.kind, query.user_id, query.gen)
    if query.protocol is not None:
        return keys.by_protocol_pk(query.kind, query.protocol, query.gen)
    return keys.all_pk(query.kind, query.gen)


def _list_query(query: ListQuery) -> dict[str, Any]:
    """The Query of a list: newest first, the time range as a key condition."""
    index = list_index(query)
    condition = f"{index}PK = :pk"
    values: dict[str, Any] = {":pk": list_partition(query)}
    if query.start is not None and query.end is not None:
        condition += f" AND {index}SK BETWEEN :start AND :end"
        values[":start"], values[":end"] = query.start, query.end + "$"
    elif query.start is not None:
        condition += f" AND {index}SK >= :start"
        values[":start"] = query.start
    elif query.end is not None:
        condition += f" AND {index}SK < :end"
        values[":end"] = query.end + "$"  # '$' sorts right after the '#' that ends the time
    kwargs: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if query.user_id is not None and query.protocol is not None:
        kwargs["FilterExpression"] = "protocol = :protocol"
        values[":protocol"] = query.protocol
    return kwargs


class SessionRepository(Generic[M]):
    """META items of one kind (keys.SESSION or keys.FILES) and their list indexes, read as records of type M
    (Session or FileSession)."""

    def __init__(self, table: Table, kind: str) -> None:
        self._table = table
        self._kind = kind
        self._record: Callable[[Mapping[str, Any]], Any] = records.file_session if kind == keys.FILES \
            else records.session

    def _pk(self, item_id: str) -> str:
        return f"{self._kind}#{item_id}"

    def create(self, new: M, counter_deltas: Mapping[str, int], extra_items: Sequence[Item] = (),
               gen: int = 0) -> M:
        """Write a new META item (and `extra_items` of the same record) in generation `gen` and count it there,
        atomically; the record as written. ConditionFailed if the id exists, GenerationMoved if a purge closed
        `gen` meanwhile."""
        record = {
            "PK": self._pk(new.id),
            "SK": keys.META,
            "kind": self._kind,
            **keys.list_index_keys(self._kind, new.user_id, new.protocol, new.started_at, new.id, gen),
            **records.meta_item(new),
            "gen": gen,
        }
        entries = [
            {"Put": {"TableName": self._table.name, "Item": record, "ConditionExpression": "attribute_not_exists(PK)"}},
            generation.check_entry(self._table.name, gen),
            counter_update(self._table.name, counter_deltas, gen=gen),
            *[{"Put": {"TableName": self._table.name, "Item": extra}} for extra in extra_items],
        ]
        try:
            transact(self._table, entries, retry_conflicts=False)
        except ConditionFailed as failed:
            if failed.reasons[1:2] == [CONDITION_FAILED] and failed.reasons[0] != CONDITION_FAILED:
                raise GenerationMoved() from failed
            raise
        created: M = self._record(record)
        return created

    def current_generation(self) -> int:
        """The purge generation lists show (their cursors are bound to it)."""
        return generation.Generations(self._table).current()

    def get(self, item_id: str) -> M | None:
        """The record if the API may show it (not purged, not deleted), else None: one BatchGetItem."""
        item = generation.Generations(self._table).visible_meta(self._pk(item_id))
        return self._record(item) if item is not None else None

    def get_any(self, item_id: str) -> M | None:
        """The record whatever its generation (the background deletion's view)."""
        with aws_errors():
            response = self._table.get_item(Key={"PK": self._pk(item_id), "SK": keys.META}, ConsistentRead=True)
        item = response.get("Item")
        return self._record(item) if item else None

    def page(self, query: ListQuery, limit: int, skip: int = 0, start_key: Cursor | None = None) -> Page[M]:
        """Newest first: skip `skip` matching items, then return up to `limit`.

        Reads `limit + 1` so that `next_key` is None exactly on the last page.
        """
        index = list_index(query)
        items, more, read = walk_page(self._table, _list_query(query), limit, skip, start_key)
        next_key = None
        if more and items:
            last = items[-1]
            next_key = {name: last[name] for name in ("PK", "SK", f"{index}PK", f"{index}SK")}
        return Page([self._record(i) for i in items], next_key, read)


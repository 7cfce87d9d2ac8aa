"""Sessions and file sessions: their META items and the three list indexes (see keys.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from chalicelib.store import generations as generation
from chalicelib.store import keys
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import plain, translate, walk_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]


@dataclass(frozen=True)
class ListQuery:
    """Which list to read. `start` and `end` are ISO times, inclusive."""

    kind: str
    user_id: str | None = None
    protocol: str | None = None
    start: str | None = None
    end: str | None = None
    gen: int = 0  # the purge generation whose list partitions are read

    @property
    def index(self) -> str:
        if self.user_id is not None:
            return keys.BY_USER_INDEX
        if self.protocol is not None:
            return keys.BY_PROTOCOL_INDEX
        return keys.ALL_INDEX

    @property
    def partition(self) -> str:
        if self.user_id is not None:
            return keys.by_user_pk(self.kind, self.user_id, self.gen)
        if self.protocol is not None:
            return keys.by_protocol_pk(self.kind, self.protocol, self.gen)
        return keys.all_pk(self.kind, self.gen)


class GenerationMoved(Exception):
    """A purge moved the generation on while a record was being created in the old one: retry in the new."""


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_key: Item | None
    items_read: int


class SessionRepository:
    """META items of one kind (keys.SESSION or keys.FILES) and their list indexes."""

    def __init__(self, table: Table, kind: str) -> None:
        self._table = table
        self._kind = kind

    def _pk(self, item_id: str) -> str:
        return f"{self._kind}#{item_id}"

    def create(self, item: Item, counter_deltas: Mapping[str, int], extra_items: Sequence[Item] = (),
               gen: int = 0) -> None:
        """Write a new META item (and `extra_items` of the same record) in generation `gen` and count it there,
        atomically; ConditionFailed if the id exists, GenerationMoved if a purge closed `gen` meanwhile."""
        record = {
            "PK": self._pk(item["id"]),
            "SK": keys.META,
            "kind": self._kind,
            **keys.list_index_keys(self._kind, item["userId"], item["protocol"], item["startedAt"], item["id"], gen),
            **{k: v for k, v in item.items() if v is not None},
            "gen": gen,
        }
        client = self._table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": record,
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    generation.check_entry(self._table.name, gen),  # type: ignore[list-item]
                    counter_update(self._table.name, counter_deltas, gen=gen),  # type: ignore[list-item]
                    *[{"Put": {"TableName": self._table.name, "Item": extra}} for extra in extra_items],  # type: ignore[list-item]
                ]
            )
        except Exception as exc:
            reasons = [r.get("Code") for r in (getattr(exc, "response", None) or {}).get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed" and reasons[0] != "ConditionalCheckFailed":
                raise GenerationMoved() from exc
            raise translate(exc) from exc

    def get(self, item_id: str) -> Item | None:
        """The META item if the API may show it (not purged, not deleted), else None: one BatchGetItem."""
        return generation.Generations(self._table).visible_meta(self._pk(item_id))

    def get_any(self, item_id: str) -> Item | None:
        """The META item whatever its generation (the background deletion's view)."""
        try:
            response = self._table.get_item(Key={"PK": self._pk(item_id), "SK": keys.META}, ConsistentRead=True)
        except Exception as exc:
            raise translate(exc) from exc
        item = response.get("Item")
        return plain(item) if item else None

    def page(self, query: ListQuery, limit: int, skip: int = 0, start_key: Item | None = None) -> Page:
        """Newest first: skip `skip` matching items, then return up to `limit`.

        Reads `limit + 1` so that `next_key` is None exactly on the last page.
        """
        index = query.index
        condition = f"{index}PK = :pk"
        values: dict[str, Any] = {":pk": query.partition}
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

        items, more, read = walk_page(self._table, kwargs, limit, skip, start_key)
        next_key = None
        if more and items:
            last = items[-1]
            next_key = {name: last[name] for name in ("PK", "SK", f"{index}PK", f"{index}SK")}
        return Page([plain(i) for i in items], next_key, read)

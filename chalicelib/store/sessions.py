"""Sessions and file sessions: their META items and the three list indexes (see keys.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from chalicelib.store import keys
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import plain, translate

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
            return keys.by_user_pk(self.kind, self.user_id)
        if self.protocol is not None:
            return keys.by_protocol_pk(self.kind, self.protocol)
        return keys.all_pk(self.kind)


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

    def create(self, item: Item, counter_deltas: Mapping[str, int], extra_items: Sequence[Item] = ()) -> None:
        """Write a new META item (and `extra_items` of the same record) and count it, atomically;
        ConditionFailed if the id exists."""
        record = {
            "PK": self._pk(item["id"]),
            "SK": keys.META,
            "kind": self._kind,
            **keys.list_index_keys(self._kind, item["userId"], item["protocol"], item["startedAt"], item["id"]),
            **{k: v for k, v in item.items() if v is not None},
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
                    counter_update(self._table.name, counter_deltas),  # type: ignore[list-item]
                    *[{"Put": {"TableName": self._table.name, "Item": extra}} for extra in extra_items],  # type: ignore[list-item]
                ]
            )
        except Exception as exc:
            raise translate(exc) from exc

    def get(self, item_id: str) -> Item | None:
        try:
            response = self._table.get_item(Key={"PK": self._pk(item_id), "SK": keys.META})
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

        items: list[Item] = []
        skipped = read = 0
        more = False
        key = start_key
        while True:
            want = (skip - skipped) + (limit + 1 - len(items))
            if key is not None:
                kwargs["ExclusiveStartKey"] = key
            try:
                response = self._table.query(Limit=want, **kwargs)
            except Exception as exc:
                raise translate(exc) from exc
            read += response.get("ScannedCount", 0)
            for raw in response["Items"]:
                if skipped < skip:
                    skipped += 1
                elif len(items) < limit:
                    items.append(raw)
                else:
                    more = True
                    break
            key = response.get("LastEvaluatedKey")
            if more or key is None:
                break
        next_key = None
        if more and items:
            last = items[-1]
            next_key = {name: last[name] for name in ("PK", "SK", f"{index}PK", f"{index}SK")}
        return Page([plain(i) for i in items], next_key, read)

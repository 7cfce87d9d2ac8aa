"""The access log: one item per playback, download, export, purge, delete, hold and release, in a partition of
its own (ACCESS) that neither retention nor the purge touches. Newest first by its sort key `<at>#<random>`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.store import keys
from chalicelib.store.dynamo import plain, translate
from chalicelib.store.sessions import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]


class AccessLogRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, entry_id: str, entry: Mapping[str, Any]) -> None:
        item = {"PK": keys.ACCESS_PK, "SK": keys.access_sk(str(entry["at"]), entry_id), "kind": "access",
                **{k: v for k, v in entry.items() if v is not None}}
        try:
            self._table.put_item(Item=item)
        except Exception as exc:
            raise translate(exc) from exc

    def page(self, limit: int, skip: int = 0, start_key: Item | None = None) -> Page:
        """Newest first: skip `skip` entries, then up to `limit`; `next_key` is None exactly on the last page."""
        kwargs: dict[str, Any] = {"KeyConditionExpression": "PK = :pk",
                                  "ExpressionAttributeValues": {":pk": keys.ACCESS_PK}, "ScanIndexForward": False}
        items: list[Item] = []
        skipped = read = 0
        more = False
        key = start_key
        while True:
            if key is not None:
                kwargs["ExclusiveStartKey"] = key
            try:
                response = self._table.query(Limit=(skip - skipped) + (limit + 1 - len(items)), **kwargs)
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
        next_key = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]} if more and items else None
        return Page([plain(i) for i in items], next_key, read)

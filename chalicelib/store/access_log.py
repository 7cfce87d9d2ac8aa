"""The access log: one item per playback, download, export, purge, delete, hold and release, in a partition of
its own (ACCESS) that neither retention nor the purge touches. Newest first by its sort key `<at>#<random>`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.store import keys
from chalicelib.store.dynamo import plain, translate, walk_page
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
        items, more, read = walk_page(self._table, kwargs, limit, skip, start_key)
        next_key = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]} if more and items else None
        return Page([plain(i) for i in items], next_key, read)

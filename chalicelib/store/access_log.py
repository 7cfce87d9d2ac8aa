"""The access log: one item per playback, download, export, purge, delete, hold and release, in a partition of
its own (ACCESS) that neither retention nor the purge touches. Newest first by its sort key `<at>#<random>`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.model.audit import AccessEntry
from chalicelib.model.sessions import Cursor, Page
from chalicelib.store import keys, records
from chalicelib.store.dynamo import aws_errors, walk_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class AccessLogRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, entry_id: str, entry: AccessEntry) -> None:
        fields = {"at": entry.at, "userId": entry.user_id, "username": entry.username, "action": entry.action,
                  "target": entry.target, "ip": entry.ip, "detail": dict(entry.detail) if entry.detail else None}
        item = {"PK": keys.ACCESS_PK, "SK": keys.access_sk(entry.at, entry_id), "kind": "access",
                **{k: v for k, v in fields.items() if v is not None}}
        with aws_errors():
            self._table.put_item(Item=item)

    def page(self, limit: int, skip: int = 0, start_key: Cursor | None = None) -> Page[AccessEntry]:
        """Newest first: skip `skip` entries, then up to `limit`; `next_key` is None exactly on the last page."""
        query = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": keys.ACCESS_PK},
                 "ScanIndexForward": False}
        items, more, read = walk_page(self._table, query, limit, skip, start_key)
        next_key = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]} if more and items else None
        return Page([records.access_entry(i) for i in items], next_key, read)

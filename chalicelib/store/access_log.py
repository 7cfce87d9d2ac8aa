"""The access log: one item per playback, download, export, audit read, purge, delete, hold and release, in
partitions of their own (ACCESS#<00..15>) that neither retention nor the purge touches.

Each entry goes to one of ACCESS_SHARDS partitions at random: a DynamoDB partition takes about 1,000 writes a
second, and every playback writes an entry before its URL is handed out, so one partition would cap the whole
service's playbacks. The sort key starts with the time (`<at>#<random>`), the same in every shard, so a
newest-first page is the merge of every shard's newest entries; the cursor is the sort key of the last entry
given (every shard goes on below it), which keeps paging exact without a position per shard. Entries written
before the sharding, in the single partition ACCESS, are merged in as a seventeenth source.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from chalicelib.model.audit import AccessEntry
from chalicelib.model.sessions import Cursor, Page
from chalicelib.store import keys, records
from chalicelib.store.dynamo import aws_errors, query_pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
_MAX_READ = 1000  # items asked of one shard per Query (the page walk caps skip + limit anyway)


def _partitions() -> list[str]:
    return [keys.ACCESS_PK, *(keys.access_pk(shard) for shard in range(keys.ACCESS_SHARDS))]


class AccessLogRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, entry_id: str, entry: AccessEntry) -> None:
        fields = {"at": entry.at, "userId": entry.user_id, "username": entry.username, "action": entry.action,
                  "target": entry.target, "ip": entry.ip, "detail": dict(entry.detail) if entry.detail else None}
        shard = random.randrange(keys.ACCESS_SHARDS)  # noqa: S311  (spreading load, not secrecy)
        item = {"PK": keys.access_pk(shard), "SK": keys.access_sk(entry.at, entry_id), "kind": "access",
                **{k: v for k, v in fields.items() if v is not None}}
        with aws_errors():
            self._table.put_item(Item=item)

    def page(self, limit: int, skip: int = 0, start_key: Cursor | None = None) -> Page[AccessEntry]:
        """Newest first: skip `skip` entries, then up to `limit`; `next_key` is None exactly on the last page.
        One Query per shard (and one of the old partition), each asking for at most skip + limit + 1."""
        before = str(start_key["SK"]) if start_key and "SK" in start_key else None
        wanted = skip + limit + 1
        read = [0]
        sources = [self._newest(pk, before, wanted, read) for pk in _partitions()]
        merged = heapq.merge(*sources, key=lambda item: str(item["SK"]), reverse=True)
        items: list[Item] = []
        more = False
        for index, item in enumerate(merged):
            if index < skip:
                continue
            if len(items) == limit:
                more = True
                break
            items.append(item)
        next_key = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]} if more and items else None
        return Page([records.access_entry(i) for i in items], next_key, read[0])

    def _newest(self, pk: str, before: str | None, wanted: int, read: list[int]) -> Iterator[Item]:
        """One partition's entries newest first, below `before` when given, read lazily page after page."""
        query: dict[str, Any] = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": pk},
                                 "ScanIndexForward": False}
        if before is not None:
            query["KeyConditionExpression"] += " AND SK < :before"
            query["ExpressionAttributeValues"][":before"] = before
        for response in query_pages(self._table, query, page_limit=lambda: min(wanted, _MAX_READ)):
            read[0] += response.get("ScannedCount", 0)
            yield from response["Items"]

"""The audit lake's transactional outbox (docs/search.md, "The outbox").

A write that stores records the lake keeps also puts a mark in the record's own partition, in the same
transaction (file events: after every event was written), listing the sort keys it stored:
`LAKE#commands#<batch>#<group>` / `LAKE#files#<batch>#00` (deterministic: a retried batch rewrites the same mark)
or, for a session's own row, `LAKE#sessions` (one, rewritten by each change; it stands for META). Marks are the
sparse index of `lake_export`: `GSI2PK = LAKE#<00..15>` (the partition's shard), `GSI2SK = <marked>#<PK>#<SK>`.
Each write gives its mark a new `nonce`, so the exporter's conditional clear (GSI2SK and nonce as read) never
removes a mark rewritten after it read it, even one rewritten within the same millisecond.
A purge or delete removes the partition, its marks included.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.model.lake import COMMANDS, FILES, SESSIONS, LakeMark, MarkedRecords
from chalicelib.model.sessions import Cursor
from chalicelib.store import generations, keys, records
from chalicelib.store.dynamo import Entry, concurrently, conditional, query_page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
MARK_KIND = "lakeMark"


def mark_item(pk: str, sk: str, kind: str, sort_keys: Sequence[str], marked_at: str) -> Item:
    """A mark of partition `pk` naming `sort_keys` (records of `kind`), marked at `marked_at` (ISO)."""
    return {
        "PK": pk, "SK": sk, "kind": MARK_KIND, "lake": kind, "sortKeys": list(sort_keys),
        "nonce": secrets.token_hex(8),
        "GSI2PK": keys.lake_pk(keys.lake_shard(pk)), "GSI2SK": keys.lake_mark_sort_key(marked_at, pk, sk),
    }


@dataclass(frozen=True)
class Marking:
    """How a batch marks what it stores: the lake kind, the batch's digest (its records' keys carry it) and when."""

    kind: str
    batch: str
    marked_at: str

    def item(self, pk: str, group: int, sort_keys: Sequence[str]) -> Item:
        return mark_item(pk, keys.lake_mark_sk(self.kind, self.batch, group), self.kind, sort_keys, self.marked_at)


def session_mark(session_id: str, marked_at: str) -> Item:
    """The session's own mark (its META as the exporter will read it), put by its start and its end."""
    return mark_item(keys.session_pk(session_id), keys.LAKE_SESSIONS_SK, SESSIONS, (), marked_at)


def put_entry(table_name: str, item: Item) -> Entry:
    return {"Put": {"TableName": table_name, "Item": item}}


def _mark(item: Item) -> LakeMark:
    pk = str(item["PK"])
    return LakeMark(kind=str(item["lake"]), session_id=pk.split("#", 1)[1], pk=pk, sk=str(item["SK"]),
                    sort_keys=tuple(str(sk) for sk in item.get("sortKeys") or ()), marked=str(item["GSI2SK"]),
                    nonce=str(item.get("nonce", "")))


class Outbox:
    """The exporter's side: pending marks by shard, what they name, and their conditional clearing."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def pending(self, shard: int, limit: int, start_key: Cursor | None = None) -> tuple[list[LakeMark], Cursor | None]:
        """Up to `limit` marks of `shard`, oldest first, from `start_key`; where the next page starts (None: the
        last page). The index is eventually consistent: a mark shows up a moment after its write."""
        items, next_key = query_page(self._table, {
            "IndexName": keys.LAKE_INDEX,
            "KeyConditionExpression": "GSI2PK = :pk",
            "ExpressionAttributeValues": {":pk": keys.lake_pk(shard)},
        }, limit, start_key)
        return [_mark(item) for item in items], next_key

    def read(self, marks: Sequence[LakeMark]) -> list[MarkedRecords]:
        """Each mark with its session's META (None when it is gone: missing, deleted, purged) and the records it
        lists that are still there: consistent BatchGetItems (100 keys a request, several at once)."""
        wanted = [{"PK": m.pk, "SK": sk} for m in marks for sk in (keys.META, *m.sort_keys)]
        found, gen = generations.Generations(self._table).get_with_generation(wanted)
        read: list[MarkedRecords] = []
        for mark in marks:
            meta = found.get((mark.pk, keys.META))
            if meta is None or not generations.visible(meta, gen):
                read.append(MarkedRecords(mark, None))
                continue
            docs = [str(found[(mark.pk, sk)]["doc"]) for sk in mark.sort_keys if (mark.pk, sk) in found]
            read.append(MarkedRecords(
                mark, records.meta(meta),
                commands=tuple(records.command(doc) for doc in docs) if mark.kind == COMMANDS else (),
                file_events=tuple(records.file_event(doc) for doc in docs) if mark.kind == FILES else (),
            ))
        return read

    def clear(self, mark: LakeMark) -> bool:
        """Delete the mark if it is still as read (same GSI2SK and nonce): True when deleted; False when it was
        rewritten meanwhile (the next run exports it again) or is gone (its partition was purged or deleted)."""
        return conditional(lambda: self._table.meta.client.delete_item(
            TableName=self._table.name, Key={"PK": mark.pk, "SK": mark.sk},  # the resource's client: plain values
            ConditionExpression="GSI2SK = :marked AND nonce = :nonce",
            ExpressionAttributeValues={":marked": mark.marked, ":nonce": mark.nonce},
        ))

    def clear_all(self, marks: Sequence[LakeMark]) -> int:
        """`clear` each mark, several at once (a client, which is thread-safe): how many were deleted."""
        return sum(concurrently(self.clear, list(marks)))

"""Audit records: SSH commands, packed input events, file events (their keys are in keys.py).

Every record is kept as compact JSON text (input events: zlib-compressed JSON) inside its item, so DynamoDB's
Decimal never touches `elapsed`: what the gateway sent (12.734, 300000) is what it reads back, type included.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.model.audit import CommandRecord, FileEventRecord, InputEvent
from chalicelib.store import keys, records
from chalicelib.store.dynamo import ConditionFailed, batch_write, query_items, retrying_conflicts, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]

# 5,000 events of at most ~40 bytes of JSON each stay under 200 KB even if zlib gained nothing: far below the
# 400 KB item limit. A 10,000-event flush is two items.
EVENTS_PER_ITEM = 5_000
_MAX_UNPROCESSED_ROUNDS = 8


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def pack_events(events: Sequence[InputEvent]) -> bytes:
    return zlib.compress(compact([[elapsed, kind] for elapsed, kind in events]).encode())


def unpack_events(packed: bytes) -> list[InputEvent]:
    return [InputEvent(elapsed, kind) for elapsed, kind in json.loads(zlib.decompress(packed))]


def write_all(table: Table, items: Sequence[Item], sleep: Any = time.sleep) -> int:
    """Put every item with BatchWriteItem (25 a request), retrying unprocessed items with backoff.

    Returns the number of requests made. Not atomic: callers give items deterministic keys, so a client's
    retry of a batch that failed half-way rewrites the same items instead of adding new ones.
    """
    return batch_write(table, [{"PutRequest": {"Item": item}} for item in items], sleep,
                       max_rounds=_MAX_UNPROCESSED_ROUNDS, max_backoff=1.0)


def _doc_items(pk: str, kind: str, docs: Sequence[tuple[str, dict[str, Any]]]) -> list[Item]:
    """Items of partition `pk` that keep one record each as compact JSON text, by sort key."""
    return [{"PK": pk, "SK": sk, "kind": kind, "doc": compact(doc)} for sk, doc in docs]


class AuditRepository:
    """Commands and packed input events, in their session's partition."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_commands(self, session_id: str, batch: str, commands: Sequence[CommandRecord]) -> None:
        write_all(self._table, _doc_items(keys.session_pk(session_id), "command", [
            (keys.command_sk(keys.sortable_elapsed(command.elapsed), batch, index), records.command_doc(command))
            for index, command in enumerate(commands)
        ]))

    def commands(self, session_id: str) -> list[CommandRecord]:
        """Every command of the session, ordered by elapsed (the sort key's order)."""
        found = query_prefix(self._table, keys.session_pk(session_id), keys.COMMAND_PREFIX, "doc")
        return [records.command(str(item["doc"])) for item in found]

    def put_events(self, session_id: str, batch: str, events: Sequence[InputEvent]) -> None:
        """Store a batch (sorted by elapsed) packed: EVENTS_PER_ITEM events an item."""
        pk = keys.session_pk(session_id)
        items = []
        for part, start in enumerate(range(0, len(events), EVENTS_PER_ITEM)):
            chunk = events[start:start + EVENTS_PER_ITEM]
            items.append({
                "PK": pk,
                "SK": keys.events_sk(keys.sortable_elapsed(chunk[0][0]), batch, part),
                "kind": "events",
                "count": len(chunk),
                "packed": pack_events(chunk),
            })
        write_all(self._table, items)

    def events(self, session_id: str) -> list[InputEvent]:
        """Every input event of the session, pack after pack (each pack sorted; packs by their first elapsed)."""
        found: list[InputEvent] = []
        for item in query_prefix(self._table, keys.session_pk(session_id), keys.EVENTS_PREFIX, "packed"):
            found.extend(unpack_events(bytes(item["packed"])))
        return found


class FileEventRepository:
    """File events and the batch markers that keep eventCount exact under retries, in FILES#<id>."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_events(self, session_id: str, batch: str, events: Sequence[FileEventRecord]) -> None:
        write_all(self._table, _doc_items(keys.file_session_pk(session_id), "fileEvent", [
            (keys.file_event_sk(batch, index), records.file_event_doc(event)) for index, event in enumerate(events)
        ]))

    def count_batch(self, session_id: str, batch: str, count: int) -> bool:
        """Add `count` to the session's eventCount once per batch; False when this batch was counted before."""
        pk = keys.file_session_pk(session_id)
        transaction: Any = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"PK": pk, "SK": keys.file_batch_sk(batch), "kind": "fileBatch", "count": count},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"PK": pk, "SK": keys.META},
                    "UpdateExpression": "ADD eventCount :n",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": {":n": count},
                }
            },
        ]
        try:
            transact(self._table, transaction, retry_conflicts=True)
        except ConditionFailed:
            return False
        return True

    def move_end(self, session_id: str, ended_at: str) -> None:
        """Set endedAt to `ended_at` unless it is already later (batches may arrive out of order)."""
        with contextlib.suppress(ConditionFailed):  # already later, or the session was purged meanwhile
            retrying_conflicts(lambda: self._table.update_item(
                Key={"PK": keys.file_session_pk(session_id), "SK": keys.META},
                UpdateExpression="SET endedAt = :t",
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(endedAt) OR endedAt < :t)",
                ExpressionAttributeValues={":t": ended_at},
            ))

    def events(self, session_id: str) -> list[FileEventRecord]:
        """Every file event of the session, in key order (callers order them by time)."""
        return [records.file_event(str(item["doc"]))
                for item in query_prefix(self._table, keys.file_session_pk(session_id), keys.FILE_EVENT_PREFIX, "doc")]


def query_prefix(table: Table, pk: str, prefix: str, attribute: str) -> Iterator[Item]:
    """Every item of partition `pk` whose SK starts with `prefix`, in SK order, page after page."""
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": pk, ":prefix": prefix},
        "ProjectionExpression": "#a",
        "ExpressionAttributeNames": {"#a": attribute},
    }
    return query_items(table, kwargs)

"""Audit records: SSH commands, packed input events, file events (their keys are in keys.py).

Every record is kept as compact JSON text (input events: zlib-compressed JSON) inside its item, so DynamoDB's
Decimal never touches `elapsed`: what the gateway sent (12.734, 300000) is what it reads back, type included.

Every batch is counted against its session's cap before any of it is written (docs/audit-records.md): commands
and input events in the session's TOTALS item, file events in the file session's `eventCount`. The count and the
batch's first record (or, for file events, its batch marker) are one transaction, so a retried batch, which finds
its first record already there, is counted once; a batch the cap refuses writes nothing.

Commands and file events are marked for the audit lake as they are written (store/outbox.py): each transaction
of commands puts the mark of the commands it stores; a file-event batch puts its mark after its events.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.model.audit import AppendGuard, AppendRefusal, CommandRecord, FileEventRecord, InputEvent
from chalicelib.model.lake import COMMANDS, FILES
from chalicelib.model.recording import FINALIZING, RECORDING
from chalicelib.model.sessions import Cursor
from chalicelib.store import keys, records
from chalicelib.store.dynamo import (
    ConditionFailed,
    Entry,
    aws_errors,
    batch_write,
    plain,
    query_items,
    retrying_conflicts,
    transact,
    walk_page,
)
from chalicelib.store.outbox import Marking, put_entry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]

# 5,000 events of at most ~40 bytes of JSON each stay under 200 KB even if zlib gained nothing: far below the
# 400 KB item limit. A 10,000-event flush is two items.
EVENTS_PER_ITEM = 5_000
_MAX_UNPROCESSED_ROUNDS = 8
# a guarded append goes in transactions: DynamoDB takes 100 entries and 4 MB a transaction (the guards take 1 or 2
# entries; the bytes are counted with room to spare for attribute names and DynamoDB's own overhead)
TRANSACTION_ENTRIES = 100
TRANSACTION_BYTES = 3_000_000
MARK_OVERHEAD = 400  # a lake mark's bytes besides the sort keys it lists (its keys, index keys, nonce)


ANYONE = AppendGuard()  # the service's append: the session exists and is not held


class AppendRefused(Exception):
    """A guarded append's condition did not hold when it was written: that transaction stored nothing."""

    def __init__(self, reason: AppendRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


class OverLimit(Exception):
    """The batch would take its session past `limit` records of its kind; nothing of it was written."""

    def __init__(self, stored: int, limit: int) -> None:
        super().__init__(f"{stored} stored, limit {limit}")
        self.stored = stored
        self.limit = limit


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


def _capped_add(table_name: str, key: dict[str, str], counter: str, count: int, limit: int,
                exists: bool = False) -> Entry:
    """An Update entry adding `count` to `counter` on condition that it stays within `limit` (the item as it was
    comes back when the condition fails, to tell how many are stored)."""
    condition = "(attribute_not_exists(#n) OR #n <= :room)"
    return {"Update": {
        "TableName": table_name, "Key": key, "UpdateExpression": "ADD #n :n",
        "ConditionExpression": ("attribute_exists(PK) AND " if exists else "") + condition,
        "ExpressionAttributeNames": {"#n": counter},
        "ExpressionAttributeValues": {":n": count, ":room": limit - count},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }}


def _reserve(table: Table, first: Entry, add: Entry, counter: str, count: int, limit: int) -> Item | None:
    """Count a batch (`add`) together with its first write (`first`, conditional on being new), atomically.
    None when counted now; the item `first` found when the batch was counted before (a retry). OverLimit when it
    would pass `limit`: nothing is written then."""
    if count > limit:
        raise OverLimit(0, limit)
    try:
        transact(table, [first, add], retry_conflicts=True)
        return None
    except ConditionFailed as failed:
        if failed.failed and failed.failed[0]:
            return (failed.old_items[0] if failed.old_items else None) or {}
        old = failed.old_items[1] if len(failed.old_items) > 1 else None
        if old is None and "attribute_exists" in str(add["Update"]["ConditionExpression"]):
            raise  # the record itself is gone (purged or deleted meanwhile)
        raise OverLimit(int(plain((old or {}).get(counter, 0))), limit) from None


def guard_entries(table_name: str, session_id: str, guard: AppendGuard) -> list[Entry]:
    """The ConditionCheck entries of `guard`: META (exists, not held, not deleted), and for an owner's write REC
    (the owner's, open or finalized since `guard.finalized_since_ms`)."""
    pk = keys.session_pk(session_id)
    entries: list[Entry] = [{"ConditionCheck": {
        "TableName": table_name, "Key": {"PK": pk, "SK": keys.META},
        "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(onHold) AND "
                               "attribute_not_exists(deleted)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }}]
    if guard.owner is not None:
        entries.append({"ConditionCheck": {
            "TableName": table_name, "Key": {"PK": pk, "SK": keys.REC},
            "ConditionExpression": "#userId = :owner AND "
                                   "(#state IN (:recording, :finalizing) OR #finalizeAt >= :since)",
            "ExpressionAttributeNames": {"#userId": "userId", "#state": "state", "#finalizeAt": "finalizeAt"},
            "ExpressionAttributeValues": {":owner": guard.owner, ":recording": RECORDING.value,
                                          ":finalizing": FINALIZING.value, ":since": guard.finalized_since_ms},
        }})
    return entries


def _refusal(failed: ConditionFailed) -> AppendRefusal:
    """Which guard stopped a guarded append (the entries: META's check, then REC's, then the puts)."""
    if failed.failed[:1] == [True]:
        meta = failed.old_items[0] if failed.old_items else None
        return AppendRefusal.HELD if meta is not None and meta.get("onHold") and not meta.get("deleted") \
            else AppendRefusal.GONE
    return AppendRefusal.ENDED


def _size(item: Item) -> int:
    """About what DynamoDB counts of an item: its names and values (strings as UTF-8, bytes as they are)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode()) + (len(value) if isinstance(value, bytes) else len(str(value).encode()))
    return total


def _groups(items: Sequence[Item], room: int, listed: bool = False) -> Iterator[list[Item]]:
    """`items` in order, cut into groups of at most `room` items and TRANSACTION_BYTES (`listed`: each group's
    lake mark lists the items' sort keys, which count too)."""
    group: list[Item] = []
    size = MARK_OVERHEAD if listed else 0
    for item in items:
        item_size = _size(item) + (len(str(item["SK"]).encode()) + 3 if listed else 0)
        if group and (len(group) == room or size + item_size > TRANSACTION_BYTES):
            yield group
            group, size = [], MARK_OVERHEAD if listed else 0
        group.append(item)
        size += item_size
    if group:
        yield group


@dataclass(frozen=True)
class Cap:
    """A batch's count against its session's cap: `counter` of the TOTALS item gains `count`, within `limit`."""

    counter: str
    count: int
    limit: int


def guarded_write(table: Table, session_id: str, guard: AppendGuard, items: Sequence[Item],
                  cap: Cap | None = None, lake: Marking | None = None) -> None:
    """Put `items` into the session's partition, each transaction with `guard`'s checks, so nothing lands once
    the session is held, deleted or (for its owner) ended; AppendRefused when a guard fails. With a `cap`, the
    first transaction also counts the batch, on conditions that its first item is new and the count stays within
    the cap (OverLimit: nothing is written); a retry finds its first item there and is not counted again. A batch
    larger than one transaction goes in several, in order: a hold landing between two of them stops the rest
    (what went before it stays, stored before the hold), and the client's retry rewrites the same keys. No items:
    the guards are checked alone (an empty flush learns what a full one would). With `lake`, each transaction
    also puts the lake mark of the items it stores (group 00 the first transaction's, then 01, 02, ...)."""
    guards = guard_entries(table.name, session_id, guard)
    rest = list(items)
    group_number = 0
    if cap is not None and rest:
        _counted_first(table, session_id, guards, rest[0], cap, lake)
        rest, group_number = rest[1:], 1
        if not rest:
            return
    room = TRANSACTION_ENTRIES - len(guards) - (1 if lake else 0)
    for group in list(_groups(rest, room, listed=lake is not None)) or [[]]:
        entries = [*guards, *({"Put": {"TableName": table.name, "Item": item}} for item in group)]
        if lake is not None and group:
            entries.append(put_entry(table.name, lake.item(keys.session_pk(session_id), group_number,
                                                           [str(item["SK"]) for item in group])))
        group_number += 1
        try:
            transact(table, entries, retry_conflicts=True)
        except ConditionFailed as failed:
            raise AppendRefused(_refusal(failed)) from failed


def _counted_first(table: Table, session_id: str, guards: list[Entry], first: Item, cap: Cap,
                   lake: Marking | None) -> None:
    """The guards, the batch's first item (if new), its count and its lake mark (group 00), in one transaction."""
    if cap.count > cap.limit:
        raise OverLimit(0, cap.limit)
    totals = {"PK": keys.session_pk(session_id), "SK": keys.AUDIT_TOTALS}
    put: Entry = {"Put": {"TableName": table.name, "Item": first, "ConditionExpression": "attribute_not_exists(PK)"}}
    entries = [*guards, put, _capped_add(table.name, totals, cap.counter, cap.count, cap.limit)]
    if lake is not None:  # last: the refusal's reasons are read by position
        entries.append(put_entry(table.name, lake.item(keys.session_pk(session_id), 0, [str(first["SK"])])))
    try:
        transact(table, entries, retry_conflicts=True)
    except ConditionFailed as failed:
        checks = failed.failed + [False] * (len(guards) + 2 - len(failed.failed))
        if any(checks[:len(guards)]):
            raise AppendRefused(_refusal(failed)) from failed
        if checks[len(guards)]:
            return  # a retry: the batch was counted (and marked for the lake) when its first item was stored
        old = failed.old_items[len(guards) + 1] if len(failed.old_items) > len(guards) + 1 else None
        raise OverLimit(int(plain((old or {}).get(cap.counter, 0))), cap.limit) from None


class AuditRepository:
    """Commands and packed input events, in their session's partition."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_commands(self, session_id: str, batch: str, commands: Sequence[CommandRecord], limit: int,
                     marked_at: str, guard: AppendGuard = ANYONE) -> None:
        """Store a batch of commands under `guard`, counted against `limit` (OverLimit: nothing stored), each
        transaction with the lake mark of its commands (marked at `marked_at`)."""
        items = _doc_items(keys.session_pk(session_id), "command", [
            (keys.command_sk(keys.sortable_elapsed(command.elapsed), batch, index), records.command_doc(command))
            for index, command in enumerate(commands)
        ])
        guarded_write(self._table, session_id, guard, items, Cap("commands", len(items), limit),
                      Marking(COMMANDS, batch, marked_at))

    def commands(self, session_id: str) -> Iterator[CommandRecord]:
        """Every command of the session, ordered by elapsed (the sort key's order), read page after page."""
        for item in query_prefix(self._table, keys.session_pk(session_id), keys.COMMAND_PREFIX, "doc"):
            yield records.command(str(item["doc"]))

    def commands_page(self, session_id: str, limit: int,
                      start_key: Cursor | None) -> tuple[list[CommandRecord], Cursor | None]:
        """Up to `limit` commands after `start_key`; where the next page starts (None: this is the last)."""
        query = _prefix_query(keys.session_pk(session_id), keys.COMMAND_PREFIX, "doc")
        items, more, _ = walk_page(self._table, query, limit, 0, start_key)
        next_key = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]} if more and items else None
        return [records.command(str(item["doc"])) for item in items], next_key

    def put_events(self, session_id: str, batch: str, events: Sequence[InputEvent], limit: int,
                   guard: AppendGuard = ANYONE) -> None:
        """Store a batch (sorted by elapsed) packed under `guard`: EVENTS_PER_ITEM events an item (a 10,000-event
        flush: two items), counted against `limit`."""
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
        guarded_write(self._table, session_id, guard, items, Cap("events", len(events), limit))

    def event_packs(self, session_id: str, from_sk: str | None = None) -> Iterator[tuple[str, list[InputEvent]]]:
        """Every pack of the session (from the one keyed `from_sk` on), in key order (by first elapsed): its
        key and its events (sorted). Read page after page, one pack unpacked at a time."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :end",
            "ExpressionAttributeValues": {":pk": keys.session_pk(session_id),
                                          ":from": from_sk or keys.EVENTS_PREFIX,
                                          ":end": _prefix_end(keys.EVENTS_PREFIX)},
            "ProjectionExpression": "#s, #p",
            "ExpressionAttributeNames": {"#s": "SK", "#p": "packed"},
        }
        for item in query_items(self._table, query):
            yield str(item["SK"]), unpack_events(bytes(item["packed"]))


class FileEventRepository:
    """File events and the batch markers that keep eventCount exact under retries, in FILES#<id>."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def reserve(self, session_id: str, batch: str, count: int, received_at: str, limit: int) -> str:
        """Count the batch in the session's eventCount once (its BATCH marker), within `limit` (OverLimit: not
        counted, nothing written). The batch's arrival time: now's, or its first arrival's when counted before
        (a retry keeps its keys). NotFound-like ConditionFailed when the file session is gone."""
        pk = keys.file_session_pk(session_id)
        marker: Entry = {"Put": {
            "TableName": self._table.name,
            "Item": {"PK": pk, "SK": keys.file_batch_sk(batch), "kind": "fileBatch", "count": count,
                     "receivedAt": received_at},
            "ConditionExpression": "attribute_not_exists(PK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}
        add = _capped_add(self._table.name, {"PK": pk, "SK": keys.META}, "eventCount", count, limit, exists=True)
        before = _reserve(self._table, marker, add, "eventCount", count, limit)
        if before is None:
            return received_at
        return str(before.get("receivedAt") or received_at)  # markers written before this change have none

    def put_events(self, session_id: str, batch: str, events: Sequence[FileEventRecord], marked_at: str) -> None:
        """Write the events (BatchWriteItem: not atomic), then, once every one is stored, their lake mark: a mark
        names only events that exist. A client's retry rewrites the same events and mark."""
        pk = keys.file_session_pk(session_id)
        items = _doc_items(pk, "fileEvent", [
            (keys.file_event_sk(event.timestamp, event.received_at, batch, index), records.file_event_doc(event))
            for index, event in enumerate(events)
        ])
        write_all(self._table, items)
        if items:
            mark = Marking(FILES, batch, marked_at).item(pk, 0, [str(item["SK"]) for item in items])
            with aws_errors():
                self._table.put_item(Item=mark)

    def move_end(self, session_id: str, ended_at: str) -> None:
        """Set endedAt to `ended_at` unless it is already later (batches may arrive out of order)."""
        with contextlib.suppress(ConditionFailed):  # already later, or the session was purged meanwhile
            retrying_conflicts(lambda: self._table.update_item(
                Key={"PK": keys.file_session_pk(session_id), "SK": keys.META},
                UpdateExpression="SET endedAt = :t",
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(endedAt) OR endedAt < :t)",
                ExpressionAttributeValues={":t": ended_at},
            ))

    def events(self, session_id: str, after: tuple[str, str, str] | None = None) -> Iterator[FileEventRecord]:
        """The file session's events in time order (timestamp, arrival, id), after the event `after` names (its
        timestamp, arrival and id) when given, read page after page."""
        start = _event_key(after) if after is not None else keys.TIMED_FILE_EVENT_PREFIX
        query: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :end",
            "ExpressionAttributeValues": {":pk": keys.file_session_pk(session_id), ":from": start,
                                          ":end": _prefix_end(keys.TIMED_FILE_EVENT_PREFIX)},
            "ProjectionExpression": "#s, #d",
            "ExpressionAttributeNames": {"#s": "SK", "#d": "doc"},
        }
        for item in query_items(self._table, query):
            if item["SK"] != start:
                yield records.file_event(str(item["doc"]))

    def legacy_events(self, session_id: str) -> list[FileEventRecord]:
        """Events stored before file events were kept in time order, in key (batch) order; callers sort them."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :end",
            "ExpressionAttributeValues": {":pk": keys.file_session_pk(session_id), ":from": keys.FILE_EVENT_PREFIX,
                                          ":end": keys.LEGACY_FILE_EVENTS_END},
            "ProjectionExpression": "#d",
            "ExpressionAttributeNames": {"#d": "doc"},
        }
        return [records.file_event(str(item["doc"])) for item in query_items(self._table, query)]


def _event_key(order: tuple[str, str, str]) -> str:
    """The sort key a file event has (or would have) in time order, from its timestamp, arrival and id
    (evt_<batch><n%04d>)."""
    timestamp, received_at, event_id = order
    return keys.file_event_sk(timestamp, received_at, event_id[4:-4], int(event_id[-4:]))


def _prefix_end(prefix: str) -> str:
    """A key above every key that starts with `prefix` (its last character moved on by one)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix_query(pk: str, prefix: str, attribute: str) -> dict[str, Any]:
    return {
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": pk, ":prefix": prefix},
        "ProjectionExpression": "#pk, #sk, #a",
        "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK", "#a": attribute},
    }


def query_prefix(table: Table, pk: str, prefix: str, attribute: str) -> Iterator[Item]:
    """Every item of partition `pk` whose SK starts with `prefix`, in SK order, page after page."""
    return query_items(table, _prefix_query(pk, prefix, attribute))

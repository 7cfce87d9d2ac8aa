"""Purge, single deletes and legal holds in DynamoDB: the generation bump, hidden META items, hold items, the
background jobs and the batched deletions (docs/purge-retention.md; key shapes in keys.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.model.purge import Cursor, Job, Remains
from chalicelib.model.recording import PURGED
from chalicelib.model.sessions import FileSession, Meta, Session
from chalicelib.store import generations as generation
from chalicelib.store import keys, records
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import (
    GENERATION_NAMES,
    Entry,
    aws_errors,
    batch_write,
    conditional,
    generation_condition,
    plain,
    query_items,
    query_page,
    set_expression,
    transact,
    transact_each,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
Key = tuple[str, str]  # (PK, SK)
_MAX_UNPROCESSED_ROUNDS = 10
_LIST_INDEX_ATTRIBUTES = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK")
_NOT_HELD_OR_DELETED = "attribute_not_exists(onHold) AND attribute_not_exists(deleted)"


@dataclass(frozen=True)
class Doomed:
    """A session (or file session) whose META and REC go last, once everything else of it is gone."""

    pk: str
    has_rec: bool
    bytes: int  # what it still counts in the storage total
    # why it goes, which META must still say so: purged with generation `purged_gen` (still of it, neither held
    # nor deleted), or (None) deleted on its own (still marked deleted)
    purged_gen: int | None = None


def _pk(kind: str, item_id: str) -> str:
    return f"{kind}#{item_id}"


def kind_of(meta: Meta) -> str:
    return keys.FILES if isinstance(meta, FileSession) else keys.SESSION


def _held_counter(kind: str) -> str:
    # held file sessions are counted apart: a purge answers how many sessions and file sessions it deleted
    return "heldFileSessions" if kind == keys.FILES else "heldSessions"


def _has_rec(meta: Meta) -> bool:
    """The session has a live recording item (REC): its META tracks a recording state."""
    return isinstance(meta, Session) and meta.recording_state is not None


class PurgeRepository:
    def __init__(self, table: Table, sleep: Callable[[float], Any] = time.sleep) -> None:
        self._table = table
        self._name = table.name
        self._sleep = sleep

    def _transact(self, entries: Sequence[Entry]) -> None:
        # the purge's items are busy ones (the generation copies, the counters): conflicts are retried
        transact(self._table, entries, retry_conflicts=True, sleep=self._sleep)

    # ---- the purge ---------------------------------------------------------------------------------------
    def bump(self, gen: int, at_ms: int) -> None:
        """Close generation `gen` (all 16 copies move to gen + 1) and file the purge job, atomically;
        ConditionFailed when another purge moved the generation first."""
        job = {"PK": keys.JOBS_PK, "SK": keys.purge_job_sk(gen), "kind": "purge", "gen": gen, "createdAt": at_ms,
               "phase": "close", "deleted": {"sessions": 0, "fileSessions": 0, "objects": 0, "rows": 0}}
        self._transact([*generation.bump_entries(self._name, gen, at_ms), {"Put": {"TableName": self._name,
                                                                                   "Item": job}}])

    # ---- holds -------------------------------------------------------------------------------------------
    def held(self) -> list[Meta]:
        """The sessions and file sessions the hold items name (whatever their generation; a released one may still
        be read). A hold item's SK is `<kind>#<id>`."""
        pks = [str(item["SK"]) for item in self._query_all(keys.HOLDS_PK)]
        if not pks:
            return []
        return [records.meta(item) for item in self._get_metas(pks)]

    def hold(self, meta: Meta, gen: int, by: str, at: str) -> None:
        """Put the session (or file session) on hold in its generation; ConditionFailed if it is held, deleted, or
        a purge closed its generation meanwhile."""
        kind = kind_of(meta)
        self._transact([
            {"Update": {
                "TableName": self._name, "Key": {"PK": _pk(kind, meta.id), "SK": keys.META},
                "UpdateExpression": "SET onHold = :true, heldAt = :at, heldBy = :by",
                "ConditionExpression": f"attribute_exists(PK) AND {generation_condition(gen)} AND "
                                       f"{_NOT_HELD_OR_DELETED}",
                "ExpressionAttributeNames": GENERATION_NAMES,
                "ExpressionAttributeValues": {":true": True, ":at": at, ":by": by, ":gen": gen},
            }},
            generation.check_entry(self._name, gen),
            {"Put": {"TableName": self._name, "Item": {
                "PK": keys.HOLDS_PK, "SK": keys.hold_sk(kind, meta.id), "kind": "hold", "id": meta.id,
                "heldAt": at, "heldBy": by}}},
            counter_update(self._name, {_held_counter(kind): 1}, gen=gen),
        ])

    def release(self, meta: Meta, gen: int) -> None:
        kind = kind_of(meta)
        self._transact([
            {"Update": {
                "TableName": self._name, "Key": {"PK": _pk(kind, meta.id), "SK": keys.META},
                "UpdateExpression": "REMOVE onHold, heldAt, heldBy",
                "ConditionExpression": "onHold = :true AND " + generation_condition(gen),
                "ExpressionAttributeNames": GENERATION_NAMES,
                "ExpressionAttributeValues": {":true": True, ":gen": gen},
            }},
            generation.check_entry(self._name, gen),
            {"Delete": {"TableName": self._name, "Key": {"PK": keys.HOLDS_PK, "SK": keys.hold_sk(kind, meta.id)}}},
            counter_update(self._name, {_held_counter(kind): -1}, gen=gen),
        ])

    def move_held(self, metas: Sequence[Meta], to_gen: int) -> int:
        """Move held sessions and file sessions of older generations into `to_gen` (list partitions, REC,
        counters); the number moved. Those released or moved by someone else meanwhile are skipped."""
        # 2 items a session + 1 counter: at most 81 of a transaction's 100; the groups are independent, so
        # they go at once (a purge with 1,000 holds waits for ~4 rounds of transactions, not 25)
        return len(transact_each(self._table, metas, 40, lambda group: self._move_entries(group, to_gen),
                                 sleep=self._sleep, concurrent=True))

    def _move_entries(self, metas: Sequence[Meta], to_gen: int) -> list[Entry]:
        entries: list[Entry] = []
        deltas: dict[str, int] = {}
        for meta in metas:
            kind = kind_of(meta)
            partitions = keys.list_partitions(kind, meta.user_id, meta.protocol, to_gen)
            entries.append({"Update": {
                "TableName": self._name, "Key": {"PK": _pk(kind, meta.id), "SK": keys.META},
                "UpdateExpression": "SET #gen = :to, GSI1PK = :p1, GSI2PK = :p2, GSI3PK = :p3",
                "ConditionExpression": generation_condition(meta.gen) + " AND onHold = :true",
                "ExpressionAttributeNames": GENERATION_NAMES,
                "ExpressionAttributeValues": {":to": to_gen, ":gen": meta.gen, ":true": True,
                                              ":p1": partitions["GSI1PK"], ":p2": partitions["GSI2PK"],
                                              ":p3": partitions["GSI3PK"]},
            }})
            if _has_rec(meta):  # the session has a REC item: its completion counts in `gen`
                entries.append({"Update": {
                    "TableName": self._name, "Key": {"PK": keys.session_pk(meta.id), "SK": keys.REC},
                    "UpdateExpression": "SET #gen = :to", "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": GENERATION_NAMES, "ExpressionAttributeValues": {":to": to_gen},
                }})
            total = "fileSessions" if kind == keys.FILES else "sessions"
            for name in (total, _held_counter(kind)) + (("recordings",) if meta.has_recording else ()):
                deltas[name] = deltas.get(name, 0) + 1
        entries.append(counter_update(self._name, deltas, gen=to_gen))
        return entries

    # ---- single deletes ------------------------------------------------------------------------------------
    def hide(self, kind: str, meta: Meta, gen: int, at_ms: int) -> None:
        """Take one session (or file session) out of every list and every read, uncount it, close its recording
        and file its deletion job, atomically; ConditionFailed if it is held, deleted, changed or its generation
        closed."""
        deltas = {"fileSessions": -1} if kind == keys.FILES else {"sessions": -1}
        if meta.has_recording:
            deltas["recordings"] = -1
        recording = "hasRecording = :true" if meta.has_recording else \
            "(attribute_not_exists(hasRecording) OR hasRecording = :false)"
        self._transact([
            {"Update": {
                "TableName": self._name, "Key": {"PK": _pk(kind, meta.id), "SK": keys.META},
                "UpdateExpression": "SET deleted = :true, deletedAt = :at REMOVE " + ", ".join(_LIST_INDEX_ATTRIBUTES),
                "ConditionExpression": f"attribute_exists(PK) AND {generation_condition(gen)} AND "
                                       f"{_NOT_HELD_OR_DELETED} AND {recording}",
                "ExpressionAttributeNames": GENERATION_NAMES,
                "ExpressionAttributeValues": {":true": True, ":false": False, ":at": at_ms, ":gen": gen},
            }},
            generation.check_entry(self._name, gen),
            counter_update(self._name, deltas, gen=gen),
            {"Put": {"TableName": self._name, "Item": {
                "PK": keys.JOBS_PK, "SK": keys.delete_job_sk(kind, meta.id), "kind": "delete", "target": kind,
                "id": meta.id, "createdAt": at_ms, "closedAt": at_ms, "phase": "delete"}}},
            # its recording closes in the same step: a chunk or a completion either commits before (and is
            # deleted and uncounted with the session) or is refused, never counted for a deleted session
            *([_close_recording_entry(self._name, meta.id, at_ms)] if _has_rec(meta) else []),
        ])

    def rewind_audit(self, kind: str, gen: int, before: str) -> None:
        """Let the audit expiry walk again from `before` (a hold released on an old session); nothing to do when
        it has not walked past `before`, or walked in another generation."""
        conditional(lambda: self._table.update_item(
            Key={"PK": keys.SETTINGS_PK, "SK": keys.RETENTION_STATE_SK},
            UpdateExpression="SET #f = :before",
            ConditionExpression="#gen = :gen AND #f > :before",
            ExpressionAttributeNames={"#f": f"audit{kind}", **GENERATION_NAMES},
            ExpressionAttributeValues={":before": before, ":gen": gen},
        ))

    # ---- jobs ----------------------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        return [records.job(item) for item in self._query_all(keys.JOBS_PK)]

    def claim(self, job: Job, until_ms: int, now_ms: int) -> bool:
        """Lease the job until `until_ms`; False when a live worker holds it (or it is gone)."""
        return conditional(lambda: self._table.update_item(
            Key={"PK": keys.JOBS_PK, "SK": job.sk},
            UpdateExpression="SET leaseUntil = :until",
            ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
            ExpressionAttributeValues={":until": until_ms, ":now": now_ms},
        ))

    def update_job(self, job_sk: str, changes: Mapping[str, Any], remove: Iterable[str] = ()) -> None:
        with aws_errors():
            self._table.update_item(Key={"PK": keys.JOBS_PK, "SK": job_sk}, **set_expression(changes, list(remove)))

    def delete_job(self, job_sk: str) -> None:
        with aws_errors():
            self._table.delete_item(Key={"PK": keys.JOBS_PK, "SK": job_sk})

    # ---- finding what to delete ----------------------------------------------------------------------------
    def list_page(self, partition: str, start_key: Cursor | None, limit: int,
                  before: str | None = None) -> tuple[list[Item], Cursor | None]:
        """One page of raw GSI2 items of a partition, oldest first (`before`: sort keys below it only)."""
        query = {"IndexName": keys.ALL_INDEX,
                 "KeyConditionExpression": "GSI2PK = :pk" + (" AND GSI2SK < :before" if before else ""),
                 "ExpressionAttributeValues": {":pk": partition, **({":before": before} if before else {})}}
        return query_page(self._table, query, limit, start_key)

    def generation_page(self, kind: str, gen: int, cursor: Cursor | None,
                        limit: int) -> tuple[list[Meta], Cursor | None]:
        """One page of the records listed in generation `gen` of `kind`, read from the table itself (the index
        lags it), and where to go on from."""
        page, cursor = self.list_page(keys.all_pk(kind, gen), cursor, limit)
        return [records.meta(i) for i in self._get_metas([str(i["PK"]) for i in page])], cursor

    def open_recordings_page(self, cursor: Cursor | None, limit: int) -> tuple[list[Session], Cursor | None]:
        """One page of the sessions whose recording is open or has work left (their OPEN marker), read from the
        table."""
        markers, cursor = self.list_page(keys.OPEN_PK, cursor, limit)
        return [records.session(i) for i in self._get_metas([str(m["PK"]) for m in markers])], cursor

    def metas(self, kind: str, ids: Sequence[str]) -> list[Meta]:
        """The records of these ids, whatever their generation (consistent)."""
        return [records.meta(item) for item in self._get_metas([_pk(kind, i) for i in ids])]

    def _get_metas(self, pks: Sequence[str]) -> list[Item]:
        return list(generation.get_many(self._table, [{"PK": pk, "SK": keys.META} for pk in pks]).values())

    def remains(self, kind: str, item_id: str) -> Remains:
        """Everything of the record's partition but its META (consistent, page after page)."""
        items = self._query_all(_pk(kind, item_id))
        rec = next((i for i in items if i["SK"] == keys.REC), None)
        return Remains(rows=tuple(str(i["SK"]) for i in items if i["SK"] not in (keys.META, keys.REC)),
                       rec=records.rec_status(rec) if rec is not None else None,
                       open_marker=any(i["SK"] == keys.OPEN for i in items))

    def _query_all(self, pk: str, prefix: str | None = None) -> list[Item]:
        """Every item of a partition (consistent), page after page."""
        query: dict[str, Any] = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": pk},
                                 "ConsistentRead": True}
        if prefix:
            query["KeyConditionExpression"] += " AND begins_with(SK, :prefix)"
            query["ExpressionAttributeValues"][":prefix"] = prefix
        return [plain(i) for i in query_items(self._table, query)]

    def close_recording(self, session_id: str, now_ms: int) -> None:
        update = _close_recording_entry(self._name, session_id, now_ms)["Update"]
        del update["TableName"]
        conditional(lambda: self._table.update_item(**update))  # closed already, or it has no REC: done

    # ---- deleting ------------------------------------------------------------------------------------------
    def delete_rows(self, item_keys: Sequence[Key]) -> int:
        """BatchWriteItem deletes of (PK, SK), 25 a request, unprocessed items retried with backoff; requests
        made."""
        deletes = [{"DeleteRequest": {"Key": {"PK": pk, "SK": sk}}} for pk, sk in item_keys]
        return batch_write(self._table, deletes, self._sleep, max_rounds=_MAX_UNPROCESSED_ROUNDS, max_backoff=2.0)

    def delete_last(self, doomed: Sequence[Doomed]) -> int:
        """Delete the META (under its condition) and REC items of sessions whose other rows and objects are
        gone, taking their bytes off the storage total, in transactions; a session whose condition fails is
        left alone. Returns how many were deleted."""
        # META + REC a session, + 1 counter
        return len(transact_each(self._table, doomed, 45, self._delete_entries, sleep=self._sleep))

    def _delete_entries(self, group: Sequence[Doomed]) -> list[Entry]:
        entries: list[Entry] = []
        for one in group:
            entry: Entry = {"TableName": self._name, "Key": {"PK": one.pk, "SK": keys.META}}
            if one.purged_gen is None:
                entry.update(ConditionExpression="deleted = :true", ExpressionAttributeValues={":true": True})
            else:
                entry.update(ConditionExpression=f"{generation_condition(one.purged_gen)} AND {_NOT_HELD_OR_DELETED}",
                             ExpressionAttributeNames=GENERATION_NAMES,
                             ExpressionAttributeValues={":gen": one.purged_gen})
            entries.append({"Delete": entry})
            if one.has_rec:
                entries.append({"Delete": {"TableName": self._name, "Key": {"PK": one.pk, "SK": keys.REC}}})
        size = sum(one.bytes for one in group)
        if size:
            entries.append(counter_update(self._name, {"bytes": -size}))
        return entries


def _close_recording_entry(table_name: str, session_id: str, now_ms: int) -> Entry:
    """REC refuses every further chunk, finalize, compaction and completion (state `purged`, the state it had
    kept in `purgedFrom` for the worker)."""
    return {"Update": {
        "TableName": table_name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.REC},
        "UpdateExpression": "SET #from = #state, #state = :purged, #at = :now",
        "ConditionExpression": "attribute_exists(PK) AND #state <> :purged",
        "ExpressionAttributeNames": {"#from": "purgedFrom", "#state": "state", "#at": "purgedAt"},
        "ExpressionAttributeValues": {":purged": PURGED, ":now": now_ms},
    }}

"""The live state of recordings in DynamoDB: the REC item, indexed CHUNK items, PART items, OPEN markers.

REC (one per session) is the only item a chunk's commit writes besides the byte counter (and, for an
indexed chunk, its CHUNK item; under maxUserBytesPerDay, the user's counter of the day); it has no index
attributes, so a commit costs no index writes. Every change is conditional; a failed condition returns the old
item (ReturnValuesOnConditionCheckFailure) so callers can tell why without another read.

Items become the typed records of chalicelib/model/recording.py here, and only here (`_recording`, `_chunk`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from chalicelib.model.recording import (
    BIG_PART_AFTER,
    CLOSED,
    FAILED,
    FINALIZING,
    PURGED,
    RECORDING,
    CommitRefusal,
    FinishedObject,
    Lease,
    Marker,
    Mode,
    PartScan,
    QuotaCharge,
    Recording,
    RecordingState,
    Segment,
    StoredChunk,
    Task,
    UploadedPart,
)
from chalicelib.model.sessions import Session
from chalicelib.store import generations as generation
from chalicelib.store import keys, outbox, records
from chalicelib.store.counters import counter_update, daily_bytes_update
from chalicelib.store.dynamo import (
    ConditionFailed,
    aws_errors,
    conditional,
    generation_condition,
    plain,
    query_items,
    query_page,
    transact,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]

_NAMES = {f"#{n}": n for n in (
    "state", "mode", "queue", "slots", "sealed", "staged", "bytes", "chunks", "parts", "partBytes", "uploadId",
    "lease", "rev", "lastCommitAt", "finalizeAt", "outcome", "missing", "userId", "id", "until", "gen",
    "purgedFrom", "purgedAt", "key", "protocol",
)}


def _names(expression: str) -> dict[str, str]:
    """The ExpressionAttributeNames of the REC attributes an expression mentions (always as #name)."""
    return {token: _NAMES[token] for token in re.findall(r"#\w+", expression) if token in _NAMES}


@dataclass(frozen=True)
class Failure:
    """A transaction cancelled by conditions: the old item of each entry whose condition failed."""

    reasons: list[Item | None]  # per entry: None if its condition held (or was not evaluated)
    failed: list[bool]


# ---- items -> records ---------------------------------------------------------------------------------------
def _recording(item: Item) -> Recording:
    """A REC item (plain: no Decimals) as its record."""
    lease = item.get("lease")
    finalize_at = item.get("finalizeAt")
    outcome = item.get("outcome")
    return Recording(
        session_id=str(item["id"]), user_id=str(item.get("userId", "")), protocol=str(item.get("protocol", "")),
        state=RecordingState(item["state"]), mode=Mode(item["mode"]) if item.get("mode") else None,
        queue=tuple(Segment.decode(s) for s in item.get("queue") or ()),
        slots={int(i): Segment.decode(s) for i, s in (item.get("slots") or {}).items()},
        sealed=int(item.get("sealed", 0)), staged=int(item.get("staged", 0)), size=int(item.get("bytes", 0)),
        parts=int(item.get("parts", 0)), upload_id=str(item["uploadId"]) if item.get("uploadId") else None,
        lease=Lease(str(lease["id"]), int(lease["until"])) if lease else None, rev=int(item.get("rev", 0)),
        last_commit_ms=int(item.get("lastCommitAt", 0)), finalize_ms=int(finalize_at) if finalize_at else None,
        outcome=str(outcome) if outcome is not None else None,
        missing=tuple(int(i) for i in item.get("missing") or ()), gen=int(item.get("gen", 0)),
        started_at=str(item["startedAt"]) if item.get("startedAt") else None,
        started_ms=int(item.get("startedAtMs", 0)),
        ended_at=str(item["endedAt"]) if item.get("endedAt") else None,
    )


def _chunk(item: Item) -> StoredChunk:
    return StoredChunk(int(item["index"]), int(item.get("size", -1)), str(item.get("sha256", "")),
                       str(item.get("name", "")))


def _refusal(failure: Failure, indexed: bool, charged: bool) -> CommitRefusal:
    """A cancelled commit (entries: REC, the CHUNK put when `indexed`, the user's daily bytes when `charged`, the
    byte counter, META's hold check last)."""
    rec = failure.reasons[0]
    chunk_failed = indexed and len(failure.failed) > 1 and failure.failed[1]
    chunk = failure.reasons[1] if chunk_failed else None
    at = 2 if indexed else 1
    quota_failed = charged and len(failure.failed) > at and failure.failed[at]
    return CommitRefusal(recording_failed=failure.failed[0], recording=_recording(rec) if rec else None,
                         chunk_failed=chunk_failed, chunk=_chunk(chunk) if chunk else None, quota_failed=quota_failed,
                         held=failure.failed[-1])


def not_held_check(table_name: str, session_id: str) -> dict[str, Any]:
    """A TransactWriteItems entry that holds only while the session is not on legal hold: nothing is appended to
    a held session, and a hold placed after a writer looked still stops its write."""
    return {"ConditionCheck": {"TableName": table_name,
                               "Key": {"PK": keys.session_pk(session_id), "SK": keys.META},
                               "ConditionExpression": "attribute_not_exists(onHold)"}}


# ---- items written whole ------------------------------------------------------------------------------------
def initial_items(session_id: str, user_id: str, protocol: str, now_ms: int, sweep_due: str,
                  started_at: str | None = None, gen: int = 0, ended_at: str | None = None) -> list[Item]:
    pk = keys.session_pk(session_id)
    rec: Item = {
        "PK": pk, "SK": keys.REC, "kind": keys.REC, "id": session_id, "userId": user_id, "protocol": protocol,
        "state": RECORDING.value, "queue": [], "slots": {}, "sealed": 0, "staged": 0, "bytes": 0, "chunks": 0,
        "parts": 0, "partBytes": 0, "rev": 0, "lastCommitAt": now_ms, "startedAtMs": now_ms, "gen": gen,
    }
    if started_at is not None:
        rec["startedAt"] = started_at
    if ended_at is not None:
        rec["endedAt"] = ended_at
    return [rec, open_marker(session_id, sweep_due)]


def retain_item(session_id: str, finished: FinishedObject) -> Item:
    """The entry of a finished recording in the retention index (oldest first by session start)."""
    return {
        "PK": keys.session_pk(session_id), "SK": keys.RETAIN, "kind": keys.RETAIN, "id": session_id,
        "bytes": finished.size, "key": finished.key, "GSI2PK": keys.RETAIN_PK,
        "GSI2SK": keys.list_sort_key(finished.started_at, session_id),
    }


def open_marker(session_id: str, due: str, task: Task = Task.OPEN) -> Item:
    return {
        "PK": keys.session_pk(session_id), "SK": keys.OPEN, "kind": keys.OPEN, "id": session_id, "task": task.value,
        "GSI2PK": keys.OPEN_PK, "GSI2SK": keys.open_sort_key(due, session_id),
    }


def _commit_update(segment: Segment, index: int | None, now_ms: int, owner: str | None, cap: int,
                   room: tuple[int, int] | None, max_ahead: int,
                   owner_protocols: Sequence[str] = ()) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """The REC update of a chunk's commit: (UpdateExpression, ConditionExpression, names, values)."""
    values: dict[str, Any] = {
        ":recording": RECORDING.value, ":finalizing": FINALIZING.value, ":n": segment.size, ":one": 1,
        ":now": now_ms, ":cap": cap,
    }
    condition = "#state IN (:recording, :finalizing) AND (attribute_not_exists(#mode) OR #mode = :mode)"
    update = "SET #staged = #staged + :n, #bytes = #bytes + :n, #chunks = #chunks + :one, " \
             "#lastCommitAt = :now, #mode = :mode"
    if index is None:
        values[":mode"] = Mode.SEQUENTIAL.value
        values[":seg"] = [segment.encode()]
        update += ", #queue = list_append(#queue, :seg)"
        condition += " AND size(#queue) < :cap"
    else:
        values[":mode"] = Mode.INDEXED.value
        values[":slot"] = segment.encode()
        values[":floor"] = index - max_ahead
        update += ", #slots.#index = :slot"
        condition += " AND size(#slots) < :cap AND #sealed >= :floor"
    if owner is not None:  # the owner writes only the recordings its browser makes
        condition += " AND #userId = :owner AND #protocol IN (" + ", ".join(
            f":p{i}" for i in range(len(owner_protocols))) + ")"
        values[":owner"] = owner
        values.update({f":p{i}": protocol for i, protocol in enumerate(owner_protocols)})
    if room is not None:
        condition += " AND ((#parts < :bigAfter AND #staged < :roomSmall) OR " \
                     "(#parts >= :bigAfter AND #staged < :roomBig))"
        values.update({":bigAfter": BIG_PART_AFTER, ":roomSmall": room[0], ":roomBig": room[1]})
    names = _names(update + " " + condition)
    if index is not None:
        names["#index"] = str(index)
    return update, condition, names, values


class _RecordingItems:
    """The plumbing both repositories share: consistent gets, conditional REC updates, transactions that say
    why they were cancelled."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._name = table.name

    def _get(self, pk: str, sk: str) -> Item | None:
        with aws_errors():
            item = self._table.get_item(Key={"PK": pk, "SK": sk}, ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def _update(self, session_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        return conditional(lambda: self._table.update_item(
            Key={"PK": keys.session_pk(session_id), "SK": keys.REC}, UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames=_names(update + " " + condition),
            ExpressionAttributeValues=values,
        ))

    def _transact(self, entries: Iterable[dict[str, Any]], retry_conflicts: bool = False) -> Failure | None:
        """One transaction: the refusal's old items and which entries failed, or None when it was written.
        `retry_conflicts`: a transaction cancelled only because another one held an item (a chunk's commit
        meeting an input-event flush's check of REC, or a hold on META) wrote nothing: try it again. Otherwise
        never retried here (a refusal is an answer the caller acts on: a commit re-reads REC)."""
        try:
            transact(self._table, list(entries), retry_conflicts=retry_conflicts)
        except ConditionFailed as refused:
            return Failure(refused.old_items, refused.failed)
        return None


class RecordingRepository(_RecordingItems):
    """The REC item's life (commits, states, completion, the seekable switch), its META changes, OPEN markers
    and the PART items' reads."""

    # ---- reads -------------------------------------------------------------------------------------------
    def get(self, session_id: str) -> Recording | None:
        item = self._get(keys.session_pk(session_id), keys.REC)
        return _recording(item) if item else None

    def meta(self, session_id: str) -> Session | None:
        """The session's META as a record, whatever its generation (the pipeline's own view)."""
        item = self._get(keys.session_pk(session_id), keys.META)
        return records.session(item) if item else None

    def get_visible(self, session_id: str) -> Recording | None:
        """REC, if its session is visible (not purged or deleted): one BatchGetItem."""
        pk = keys.session_pk(session_id)
        found, gen = generation.Generations(self._table).get_with_generation(
            [{"PK": pk, "SK": keys.REC}, {"PK": pk, "SK": keys.META}])
        if not generation.visible(found.get((pk, keys.META)), gen):
            return None
        item = found.get((pk, keys.REC))
        return _recording(item) if item else None

    def held(self, session_id: str) -> bool:
        """Whether the session is on legal hold (META's mark)."""
        meta = self._get(keys.session_pk(session_id), keys.META)
        return bool(meta and meta.get("onHold"))

    def visible_meta(self, session_id: str) -> Session | None:
        """The session, if the API may show it (not purged, not deleted)."""
        item = generation.Generations(self._table).visible_meta(keys.session_pk(session_id))
        return records.session(item) if item else None

    def chunk(self, session_id: str, index: int) -> StoredChunk | None:
        item = self._get(keys.session_pk(session_id), keys.chunk_sk(index))
        return _chunk(item) if item else None

    def parts(self, session_id: str) -> list[UploadedPart]:
        """Every recorded part, ascending."""
        return [UploadedPart(int(i["number"]), str(i["etag"]), int(i["size"])) for i in self._parts(session_id, {})]

    def part_indexes(self, session_id: str) -> list[PartScan]:
        """What the scan of every part left, ascending (see media/webm)."""
        found = []
        for item in self._parts(session_id, {"ProjectionExpression": "#scan, #cues",
                                             "ExpressionAttributeNames": {"#scan": "scan", "#cues": "cues"}}):
            cues: Any = item.get("cues")
            scan = item.get("scan")
            found.append(PartScan(str(scan) if scan else None, bytes(getattr(cues, "value", cues) or b"")))
        return found

    def _parts(self, session_id: str, projection: dict[str, Any]) -> list[Item]:
        """The PART items, ascending, every page (plain)."""
        return [plain(item) for item in query_items(self._table, {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :part)",
            "ExpressionAttributeValues": {":pk": keys.session_pk(session_id), ":part": "PART#"},
            "ConsistentRead": True, **projection,
        })]

    def due_markers(self, now: str, limit: int) -> list[Marker]:
        """OPEN markers whose time has come, oldest first (one Query on the sparse index)."""
        items, _ = query_page(self._table, {
            "IndexName": keys.OPEN_INDEX,
            "KeyConditionExpression": "GSI2PK = :pk AND GSI2SK < :now",
            "ExpressionAttributeValues": {":pk": keys.OPEN_PK, ":now": now},
        }, limit)
        return [Marker(str(i["id"]), Task(str(i.get("task", Task.OPEN.value)))) for i in items]

    # ---- the commit of one chunk ----------------------------------------------------------------------------
    def commit(
        self,
        session_id: str,
        *,
        segment: Segment,
        index: int | None,
        sha256: str,
        now_ms: int,
        owner: str | None,
        cap: int,
        room: tuple[int, int] | None,
        max_ahead: int,
        owner_protocols: Sequence[str] = (),
        quota: QuotaCharge | None = None,
    ) -> CommitRefusal | None:
        """Append a committed chunk to REC and count its bytes, atomically, unless the session is on hold. None
        on success. `owner`: the writer is that owner, who may write only a recording of `owner_protocols`.

        `room`: (bytes the staged total may hold before this chunk under the small and the big part size):
        when given, the commit fails instead of crossing the part size, so the caller compacts after it.
        `quota`: the user's counter of the day the bytes are also added to, in the same transaction, which it
        cancels when they would pass the cap (so a refused or retried chunk is never counted).
        """
        update, condition, names, values = _commit_update(segment, index, now_ms, owner, cap, room, max_ahead,
                                                          owner_protocols)
        entries: list[dict[str, Any]] = [{
            "Update": {
                "TableName": self._name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.REC},
                "UpdateExpression": update, "ConditionExpression": condition,
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }]
        if index is not None:
            entries.append({
                "Put": {
                    "TableName": self._name,
                    "Item": {"PK": keys.session_pk(session_id), "SK": keys.chunk_sk(index), "kind": "CHUNK",
                             "index": index, "size": segment.size, "sha256": sha256, "name": segment.name},
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            })
        charged = quota is not None and segment.size > 0
        if quota is not None and charged:
            entries.append(daily_bytes_update(self._name, quota, segment.size))
        if segment.size:
            entries.append(counter_update(self._name, {"bytes": segment.size}))
        entries.append(not_held_check(self._name, session_id))  # last: _refusal reads it there
        failure = self._transact(entries, retry_conflicts=True)
        return _refusal(failure, indexed=index is not None, charged=charged) if failure else None

    # ---- states -------------------------------------------------------------------------------------------
    def start_finalizing(self, session_id: str, now_ms: int) -> bool:
        return self._update(session_id, "SET #state = :finalizing, #finalizeAt = :now", "#state = :recording",
                            {":finalizing": FINALIZING.value, ":now": now_ms, ":recording": RECORDING.value})

    def close(self, session_id: str, from_state: RecordingState, last_commit: int, outcome: RecordingState,
              missing: list[int]) -> bool:
        """No more chunks: only if nothing was committed since the caller looked (`last_commit`)."""
        return self._update(
            session_id,
            "SET #state = :closed, #outcome = :outcome, #missing = :missing",
            "#state = :from AND #lastCommitAt = :last",
            {":closed": CLOSED.value, ":outcome": outcome.value, ":missing": missing, ":from": from_state.value,
             ":last": last_commit},
        )

    def fail(self, session_id: str, reason: str) -> None:
        self._update(session_id, "SET #state = :failed, #outcome = :reason", "#state = :closed",
                     {":failed": FAILED.value, ":reason": reason, ":closed": CLOSED.value})

    def record_completion(self, session_id: str, outcome: RecordingState, meta_changes: Mapping[str, Any],
                          finished: FinishedObject | None, next_task: tuple[str, Task] | None, marked_at: str,
                          gen: int = 0) -> bool:
        """REC done, META told (and the session marked for the audit lake at `marked_at`), the recording
        (`finished`: its object, None when it is empty) counted in the session's purge generation `gen` (which
        must still be current) and entered in the retention index, the OPEN marker moved on or removed: one
        transaction. False when REC is no longer closed or a purge passed the session's generation."""
        entries = _completion_entries(self._name, session_id, outcome, meta_changes, gen)
        entries.append(outbox.put_entry(self._name, outbox.session_mark(session_id, marked_at)))
        if finished is not None:
            entries.append(generation.check_entry(self._name, gen))
            entries.append(counter_update(self._name, {"recordings": 1}, gen=gen))
            entries.append({"Put": {"TableName": self._name, "Item": retain_item(session_id, finished)}})
        if next_task is None:
            entries.append({"Delete": {"TableName": self._name,
                                       "Key": {"PK": keys.session_pk(session_id), "SK": keys.OPEN}}})
        else:
            entries.append({"Put": {"TableName": self._name, "Item": open_marker(session_id, *next_task)}})
        return self._transact(entries) is None

    def switch_to_seekable(self, session_id: str, source: str, target: str, client_bytes: int, stored_bytes: int,
                           seekable: Mapping[str, Any]) -> bool:
        """Point the session at its verified seekable object, atomically with what counts its bytes: REC and
        RETAIN (what the purge and retention take off the total) and the storage total move from the client's
        size to the stored one, RETAIN names the new key (what retention deletes). False, and nothing changed,
        when the session no longer holds `source`: switched already, expired, deleted or closed for purge."""
        entries = _seekable_entries(self._name, keys.session_pk(session_id), source, target, client_bytes,
                                    stored_bytes, seekable)
        if stored_bytes != client_bytes:
            entries.append(counter_update(self._name, {"bytes": stored_bytes - client_bytes}))
        return self._transact(entries) is None

    # ---- META and markers ------------------------------------------------------------------------------------
    def update_meta(self, session_id: str, changes: Mapping[str, Any], only_if_missing: str | None = None,
                    marked_at: str | None = None) -> bool:
        """SET `changes` on META (if it exists, and `only_if_missing` is not set yet): True when written.
        `marked_at`: a change the audit lake shows (the session's end): META and the session's lake mark in one
        transaction."""
        names = {f"#m{i}": name for i, name in enumerate(changes)}
        values = {f":m{i}": value for i, value in enumerate(changes.values())}
        kwargs: dict[str, Any] = {
            "Key": {"PK": keys.session_pk(session_id), "SK": keys.META},
            "UpdateExpression": "SET " + ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True)),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            "ConditionExpression": "attribute_exists(PK)",
        }
        if only_if_missing:
            names["#guard"] = only_if_missing
            kwargs["ConditionExpression"] += " AND attribute_not_exists(#guard)"
        if marked_at is not None:
            return self._transact([{"Update": {"TableName": self._name, **kwargs}},
                                   outbox.put_entry(self._name, outbox.session_mark(session_id, marked_at))]) is None
        return conditional(lambda: self._table.update_item(**kwargs))  # a session gone (or guarded) keeps as it is

    def move_marker(self, session_id: str, due: str, task: Task) -> None:
        with aws_errors():
            self._table.put_item(Item=open_marker(session_id, due, task))

    def delete_marker(self, session_id: str) -> None:
        with aws_errors():
            self._table.delete_item(Key={"PK": keys.session_pk(session_id), "SK": keys.OPEN})


class CompactionRepository(_RecordingItems):
    """The steps that turn staged chunks into parts, each under REC's lease (promotions need none)."""

    def claim(self, session_id: str, rev: int, lease_id: str, until_ms: int, now_ms: int) -> bool:
        return self._update(
            session_id,
            "SET #lease = :lease",
            "#rev = :rev AND (attribute_not_exists(#lease) OR #lease.#until < :now)",
            {":lease": {"id": lease_id, "until": until_ms}, ":rev": rev, ":now": now_ms},
        )

    def release(self, session_id: str, lease_id: str) -> None:
        self._update(session_id, "REMOVE #lease", "#lease.#id = :me", {":me": lease_id})

    def set_upload(self, session_id: str, upload_id: str, lease_id: str) -> bool:
        return self._update(session_id, "SET #uploadId = :u",
                            "#lease.#id = :me AND attribute_not_exists(#uploadId)", {":u": upload_id, ":me": lease_id})

    def record_part(self, session_id: str, part: UploadedPart, take: int, lease_id: str,
                    scan: PartScan | None = None) -> bool:
        """PART item + REC (queue head removed, lease released) in one transaction; False if the lease is lost.
        `scan`: what a WebM recording's scan learnt up to the end of this part, kept in the PART item."""
        number, etag, size = part
        extra: Item = {}
        if scan is not None and scan.state:
            extra["scan"] = scan.state
        if scan is not None and scan.cues:
            extra["cues"] = scan.cues
        removed = ", ".join(f"#queue[{i}]" for i in range(take))
        update = f"SET #parts = :n, #partBytes = #partBytes + :size, #staged = #staged - :size, #rev = #rev + :one " \
                 f"REMOVE #lease, {removed}"
        failure = self._transact([
            {"Put": {"TableName": self._name,
                     "Item": {"PK": keys.session_pk(session_id), "SK": keys.part_sk(number), "kind": "PART",
                              "number": number, "etag": etag, "size": size, **extra}}},
            {"Update": {"TableName": self._name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.REC},
                        "UpdateExpression": update, "ConditionExpression": "#lease.#id = :me AND #parts = :prev",
                        "ExpressionAttributeNames": _names(update + " #lease #id #parts"),
                        "ExpressionAttributeValues": {":n": number, ":size": size, ":one": 1, ":me": lease_id,
                                                      ":prev": number - 1}}},
        ])
        return failure is None

    def record_merge(self, session_id: str, start: int, end: int, merged: Segment, lease_id: str) -> bool:
        removed = ", ".join(f"#queue[{i}]" for i in range(start + 1, end))
        return self._update(
            session_id,
            f"SET #queue[{start}] = :merged, #rev = #rev + :one REMOVE #lease, {removed}",
            "#lease.#id = :me",
            {":merged": merged.encode(), ":one": 1, ":me": lease_id},
        )

    def promote(self, session_id: str, sealed: int, taken: Sequence[int], segments: Sequence[Segment]) -> bool:
        """Move the slots `taken` (ascending, from `sealed`) to the queue's end, in index order.

        Needs no lease: it only appends, and lease holders only touch queue positions they have read."""
        removed = ", ".join(f"#slots.#s{n}" for n in range(len(taken)))
        update = f"SET #queue = list_append(#queue, :segs), #sealed = :new REMOVE {removed}"
        condition = "#sealed = :old"
        names = _names(update + " " + condition)
        names.update({f"#s{n}": str(i) for n, i in enumerate(taken)})
        return conditional(lambda: self._table.update_item(
            Key={"PK": keys.session_pk(session_id), "SK": keys.REC}, UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames=names,
            ExpressionAttributeValues={":segs": [s.encode() for s in segments], ":new": taken[-1] + 1,
                                       ":old": sealed},
        ))

    def part_scan(self, session_id: str, number: int) -> str | None:
        """The WebM scan state a part left (None when it went unscanned or is not there)."""
        item = self._get(keys.session_pk(session_id), keys.part_sk(number))
        return str(item["scan"]) if item and item.get("scan") else None


def _completion_entries(table_name: str, session_id: str, outcome: RecordingState, meta_changes: Mapping[str, Any],
                        gen: int) -> list[dict[str, Any]]:
    """REC to its outcome (if still closed and in generation `gen`) and META's changes, of a completion."""
    pk = keys.session_pk(session_id)
    meta_names = {f"#m{i}": name for i, name in enumerate(meta_changes)}
    meta_values = {f":m{i}": value for i, value in enumerate(meta_changes.values())}
    return [
        {"Update": {"TableName": table_name, "Key": {"PK": pk, "SK": keys.REC},
                    "UpdateExpression": "SET #state = :outcome, #queue = :empty, #staged = :zero REMOVE #lease",
                    "ConditionExpression": "#state = :closed AND " + generation_condition(gen),
                    "ExpressionAttributeNames": _names("#state #queue #staged #lease #gen"),
                    "ExpressionAttributeValues": {":outcome": outcome.value, ":empty": [], ":zero": 0,
                                                  ":closed": CLOSED.value, ":gen": gen}}},
        {"Update": {"TableName": table_name, "Key": {"PK": pk, "SK": keys.META},
                    "UpdateExpression": "SET " + ", ".join(f"{n} = {v}" for n, v in
                                                           zip(meta_names, meta_values, strict=True)),
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": meta_names, "ExpressionAttributeValues": meta_values}},
    ]


def _seekable_entries(table_name: str, pk: str, source: str, target: str, client_bytes: int, stored_bytes: int,
                      seekable: Mapping[str, Any]) -> list[dict[str, Any]]:
    """META to the seekable key, REC and RETAIN to the stored size (see switch_to_seekable)."""
    return [
        {"Update": {
            "TableName": table_name, "Key": {"PK": pk, "SK": keys.META},
            "UpdateExpression": "SET recordingKey = :target, seekable = :seekable",
            "ConditionExpression": "recordingKey = :source AND hasRecording = :true AND "
                                   "attribute_not_exists(seekable) AND attribute_not_exists(deleted)",
            "ExpressionAttributeValues": {":target": target, ":seekable": dict(seekable), ":source": source,
                                          ":true": True},
        }},
        {"Update": {
            "TableName": table_name, "Key": {"PK": pk, "SK": keys.REC},
            "UpdateExpression": "SET #bytes = :stored",
            "ConditionExpression": "#bytes = :client AND #state <> :purged",
            "ExpressionAttributeNames": _names("#bytes #state"),
            "ExpressionAttributeValues": {":stored": stored_bytes, ":client": client_bytes, ":purged": PURGED.value},
        }},
        {"Update": {
            "TableName": table_name, "Key": {"PK": pk, "SK": keys.RETAIN},
            "UpdateExpression": "SET #bytes = :stored, #key = :target",
            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(deleting)",
            "ExpressionAttributeNames": _names("#bytes #key"),
            "ExpressionAttributeValues": {":stored": stored_bytes, ":target": target},
        }},
    ]


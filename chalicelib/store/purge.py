"""Purge, single deletes and legal holds in DynamoDB: the generation bump, hidden META items, hold items, the
background jobs and the batched deletions (docs/purge-retention.md; key shapes in keys.py)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.errors import Unavailable
from chalicelib.model.recording import PURGED
from chalicelib.store import generations as generation
from chalicelib.store import keys
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import ConditionFailed, batch_write, concurrently, plain, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
TRANSACTION_ITEMS = 100
_MAX_UNPROCESSED_ROUNDS = 10
_LIST_INDEX_ATTRIBUTES = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK")


@dataclass(frozen=True)
class Doomed:
    """A session (or file session) whose META and REC go last, once everything else of it is gone."""

    pk: str
    condition: str  # on META: still the record the worker decided to delete
    values: Mapping[str, Any]
    has_rec: bool
    bytes: int  # what it still counts in the storage total


def _reasons(exc: Exception) -> list[str | None]:
    response = getattr(exc, "response", None) or {}
    return [r.get("Code") for r in response.get("CancellationReasons", [])]


def _condition_failed(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in _reasons(exc)


class PurgeRepository:
    def __init__(self, table: Table, sleep: Any = time.sleep) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name
        self._sleep = sleep

    # ---- the purge ---------------------------------------------------------------------------------------
    def bump(self, gen: int, at_ms: int) -> None:
        """Close generation `gen` (all 16 copies move to gen + 1) and file the purge job, atomically;
        ConditionFailed when another purge moved the generation first."""
        job = {"PK": keys.JOBS_PK, "SK": keys.purge_job_sk(gen), "kind": "purge", "gen": gen, "createdAt": at_ms,
               "phase": "close", "deleted": {"sessions": 0, "fileSessions": 0, "objects": 0, "rows": 0}}
        self._transact([*generation.bump_entries(self._name, gen, at_ms), {"Put": {"TableName": self._name,
                                                                                   "Item": job}}])

    # ---- holds -------------------------------------------------------------------------------------------
    def held_ids(self) -> list[str]:
        return [str(item["id"]) for item in self.query_all(keys.HOLDS_PK)]

    def hold(self, meta: Mapping[str, Any], gen: int, by: str, at: str) -> None:
        """Put the session on hold in its generation; ConditionFailed if it is held, deleted, or a purge closed
        its generation meanwhile."""
        session_id = str(meta["id"])
        self._transact([
            {"Update": {
                "TableName": self._name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.META},
                "UpdateExpression": "SET onHold = :true, heldAt = :at, heldBy = :by",
                "ConditionExpression": "attribute_exists(PK) AND " + _gen_condition(gen) +
                                       " AND attribute_not_exists(deleted) AND attribute_not_exists(onHold)",
                "ExpressionAttributeNames": {"#gen": "gen"},
                "ExpressionAttributeValues": {":true": True, ":at": at, ":by": by, ":gen": gen},
            }},
            generation.check_entry(self._name, gen),
            {"Put": {"TableName": self._name, "Item": {
                "PK": keys.HOLDS_PK, "SK": keys.hold_sk(session_id), "kind": "hold", "id": session_id,
                "heldAt": at, "heldBy": by}}},
            counter_update(self._name, {"heldSessions": 1}, gen=gen),
        ])

    def release(self, meta: Mapping[str, Any], gen: int) -> None:
        session_id = str(meta["id"])
        self._transact([
            {"Update": {
                "TableName": self._name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.META},
                "UpdateExpression": "REMOVE onHold, heldAt, heldBy",
                "ConditionExpression": "onHold = :true AND " + _gen_condition(gen),
                "ExpressionAttributeNames": {"#gen": "gen"},
                "ExpressionAttributeValues": {":true": True, ":gen": gen},
            }},
            generation.check_entry(self._name, gen),
            {"Delete": {"TableName": self._name, "Key": {"PK": keys.HOLDS_PK, "SK": keys.hold_sk(session_id)}}},
            counter_update(self._name, {"heldSessions": -1}, gen=gen),
        ])

    def move_held(self, metas: Sequence[Mapping[str, Any]], to_gen: int) -> int:
        """Move held sessions of older generations into `to_gen` (list partitions, REC, counters); the number
        moved. Sessions released or moved by someone else meanwhile are skipped."""
        def move(group: Sequence[Mapping[str, Any]]) -> int:
            try:
                self._transact(self._move_entries(group, to_gen))
                return len(group)
            except ConditionFailed:
                moved = 0
                for meta in group:  # one of them changed: move the others one by one
                    try:
                        self._transact(self._move_entries([meta], to_gen))
                        moved += 1
                    except ConditionFailed:
                        continue
                return moved

        # 2 items a session + 1 counter: at most 81 of a transaction's 100; the groups are independent, so
        # they go at once (a purge with 1,000 holds waits for ~4 rounds of transactions, not 25)
        groups = [metas[start:start + 40] for start in range(0, len(metas), 40)]
        return sum(concurrently(move, groups))

    def _move_entries(self, metas: Sequence[Mapping[str, Any]], to_gen: int) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        recordings = 0
        for meta in metas:
            session_id = str(meta["id"])
            partitions = keys.list_partitions(keys.SESSION, str(meta["userId"]), str(meta["protocol"]), to_gen)
            entries.append({"Update": {
                "TableName": self._name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.META},
                "UpdateExpression": "SET #gen = :to, GSI1PK = :p1, GSI2PK = :p2, GSI3PK = :p3",
                "ConditionExpression": _gen_condition(generation.generation_of(meta)) + " AND onHold = :true",
                "ExpressionAttributeNames": {"#gen": "gen"},
                "ExpressionAttributeValues": {":to": to_gen, ":gen": generation.generation_of(meta), ":true": True,
                                              ":p1": partitions["GSI1PK"], ":p2": partitions["GSI2PK"],
                                              ":p3": partitions["GSI3PK"]},
            }})
            if "recordingState" in meta:  # the session has a REC item: its completion counts in `gen`
                entries.append({"Update": {
                    "TableName": self._name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.REC},
                    "UpdateExpression": "SET #gen = :to", "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": {"#gen": "gen"}, "ExpressionAttributeValues": {":to": to_gen},
                }})
            recordings += 1 if meta.get("hasRecording") else 0
        deltas = {"sessions": len(metas), "heldSessions": len(metas)}
        if recordings:
            deltas["recordings"] = recordings
        entries.append(counter_update(self._name, deltas, gen=to_gen))
        return entries

    # ---- single deletes ------------------------------------------------------------------------------------
    def hide(self, kind: str, meta: Mapping[str, Any], gen: int, at_ms: int) -> None:
        """Take one session (or file session) out of every list and every read, uncount it, close its recording
        and file its deletion job, atomically; ConditionFailed if it is held, deleted, changed or its generation
        closed."""
        item_id = str(meta["id"])
        had_recording = bool(meta.get("hasRecording"))
        deltas = {"fileSessions": -1} if kind == keys.FILES else {"sessions": -1}
        if had_recording:
            deltas["recordings"] = -1
        self._transact([
            {"Update": {
                "TableName": self._name, "Key": {"PK": f"{kind}#{item_id}", "SK": keys.META},
                "UpdateExpression": "SET deleted = :true, deletedAt = :at REMOVE " + ", ".join(_LIST_INDEX_ATTRIBUTES),
                "ConditionExpression": "attribute_exists(PK) AND " + _gen_condition(gen) +
                                       " AND attribute_not_exists(deleted) AND attribute_not_exists(onHold) AND " +
                                       ("hasRecording = :true" if had_recording else
                                        "(attribute_not_exists(hasRecording) OR hasRecording = :false)"),
                "ExpressionAttributeNames": {"#gen": "gen"},
                "ExpressionAttributeValues": {":true": True, ":false": False, ":at": at_ms, ":gen": gen},
            }},
            generation.check_entry(self._name, gen),
            counter_update(self._name, deltas, gen=gen),
            {"Put": {"TableName": self._name, "Item": {
                "PK": keys.JOBS_PK, "SK": keys.delete_job_sk(kind, item_id), "kind": "delete", "target": kind,
                "id": item_id, "createdAt": at_ms, "closedAt": at_ms, "phase": "delete"}}},
            # its recording closes in the same step: a chunk or a completion either commits before (and is
            # deleted and uncounted with the session) or is refused, never counted for a deleted session
            *([_close_recording_entry(self._name, item_id, at_ms)] if "recordingState" in meta else []),
        ])

    def rewind_audit(self, kind: str, gen: int, before: str) -> None:
        """Let the audit expiry walk again from `before` (a hold released on an old session)."""
        field = f"audit{kind}"
        try:
            self._table.update_item(
                Key={"PK": keys.SETTINGS_PK, "SK": keys.RETENTION_STATE_SK},
                UpdateExpression="SET #f = :before",
                ConditionExpression="#gen = :gen AND #f > :before",
                ExpressionAttributeNames={"#f": field, "#gen": "gen"},
                ExpressionAttributeValues={":before": before, ":gen": gen},
            )
        except Exception as exc:
            if "ConditionalCheckFailed" in str(exc):
                return
            raise translate(exc) from exc

    # ---- jobs ----------------------------------------------------------------------------------------------
    def jobs(self) -> list[Item]:
        return self.query_all(keys.JOBS_PK)

    def claim(self, job: Mapping[str, Any], until_ms: int, now_ms: int) -> bool:
        try:
            self._table.update_item(
                Key={"PK": keys.JOBS_PK, "SK": str(job["SK"])},
                UpdateExpression="SET leaseUntil = :until",
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
                ExpressionAttributeValues={":until": until_ms, ":now": now_ms},
            )
        except Exception as exc:
            if _condition_failed(exc):
                return False
            raise translate(exc) from exc
        return True

    def update_job(self, job_sk: str, changes: Mapping[str, Any], remove: Iterable[str] = ()) -> None:
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        removed = {f"#r{i}": name for i, name in enumerate(remove)}
        expression = ""
        if changes:
            expression += "SET " + ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": {**names, **removed}}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._table.update_item(Key={"PK": keys.JOBS_PK, "SK": job_sk}, UpdateExpression=expression.strip(),
                                    **kwargs)
        except Exception as exc:
            raise translate(exc) from exc

    def delete_job(self, job_sk: str) -> None:
        try:
            self._table.delete_item(Key={"PK": keys.JOBS_PK, "SK": job_sk})
        except Exception as exc:
            raise translate(exc) from exc

    # ---- finding what to delete ----------------------------------------------------------------------------
    def list_page(self, partition: str, start_key: Item | None, limit: int,
                  before: str | None = None) -> tuple[list[Item], Item | None]:
        """One page of a GSI2 partition, oldest first (`before`: sort keys below it only)."""
        kwargs: dict[str, Any] = {
            "IndexName": keys.ALL_INDEX, "Limit": limit,
            "KeyConditionExpression": "GSI2PK = :pk" + (" AND GSI2SK < :before" if before else ""),
            "ExpressionAttributeValues": {":pk": partition, **({":before": before} if before else {})},
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        try:
            response = self._table.query(**kwargs)
        except Exception as exc:
            raise translate(exc) from exc
        return [plain(i) for i in response["Items"]], response.get("LastEvaluatedKey")

    def query_all(self, pk: str, prefix: str | None = None) -> list[Item]:
        """Every item of a partition (consistent), page after page."""
        kwargs: dict[str, Any] = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": pk},
                                  "ConsistentRead": True}
        if prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(SK, :prefix)"
            kwargs["ExpressionAttributeValues"][":prefix"] = prefix
        found: list[Item] = []
        try:
            while True:
                response = self._table.query(**kwargs)
                found.extend(plain(i) for i in response["Items"])
                if "LastEvaluatedKey" not in response:
                    return found
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except Exception as exc:
            raise translate(exc) from exc

    def get_many(self, item_keys: list[dict[str, str]]) -> dict[tuple[str, str], Item]:
        return generation.get_many(self._table, item_keys)

    def close_recording(self, session_id: str, now_ms: int) -> None:
        update = _close_recording_entry(self._name, session_id, now_ms)["Update"]
        del update["TableName"]
        try:
            self._table.update_item(**update)
        except Exception as exc:
            if _condition_failed(exc):
                return
            raise translate(exc) from exc

    # ---- deleting ------------------------------------------------------------------------------------------
    def delete_rows(self, item_keys: Sequence[Mapping[str, str]]) -> int:
        """BatchWriteItem deletes, 25 a request, unprocessed items retried with backoff; requests made."""
        deletes = [{"DeleteRequest": {"Key": {"PK": k["PK"], "SK": k["SK"]}}} for k in item_keys]
        return batch_write(self._client, self._name, deletes, self._sleep, max_rounds=_MAX_UNPROCESSED_ROUNDS,
                           max_backoff=2.0)

    def delete_last(self, doomed: Sequence[Doomed]) -> int:
        """Delete the META (under its condition) and REC items of sessions whose other rows and objects are
        gone, taking their bytes off the storage total, in transactions; a session whose condition fails is
        left alone. Returns how many were deleted."""
        deleted = 0
        for start in range(0, len(doomed), 45):  # META + REC a session, + 1 counter
            group = doomed[start:start + 45]
            try:
                self._transact(self._delete_entries(group))
                deleted += len(group)
            except ConditionFailed:
                for one in group:
                    try:
                        self._transact(self._delete_entries([one]))
                        deleted += 1
                    except ConditionFailed:
                        continue
        return deleted

    def _delete_entries(self, group: Sequence[Doomed]) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for one in group:
            entry: dict[str, Any] = {"TableName": self._name, "Key": {"PK": one.pk, "SK": keys.META},
                                     "ConditionExpression": one.condition}
            if one.values:
                entry["ExpressionAttributeValues"] = dict(one.values)
            if "#gen" in one.condition:
                entry["ExpressionAttributeNames"] = {"#gen": "gen"}
            entries.append({"Delete": entry})
            if one.has_rec:
                entries.append({"Delete": {"TableName": self._name, "Key": {"PK": one.pk, "SK": keys.REC}}})
        size = sum(one.bytes for one in group)
        if size:
            entries.append(counter_update(self._name, {"bytes": -size}))
        return entries

    # ---- plumbing ------------------------------------------------------------------------------------------
    def _transact(self, entries: list[dict[str, Any]]) -> None:
        """TransactWriteItems, retrying conflicts with other transactions (busy items: the generation copies,
        the counters); ConditionFailed when a condition does not hold."""
        for attempt in range(6):
            try:
                self._client.transact_write_items(TransactItems=entries)  # type: ignore[arg-type]
                return
            except Exception as exc:
                reasons = _reasons(exc)
                code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
                if "ConditionalCheckFailed" in reasons or code == "ConditionalCheckFailedException":
                    raise ConditionFailed("the item changed concurrently", reasons=reasons) from exc
                conflict = code == "TransactionConflictException" or "TransactionConflict" in reasons
                if not conflict:
                    raise translate(exc) from exc
                self._sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311  (jitter)
        raise Unavailable("storage is busy, retry")


def _close_recording_entry(table_name: str, session_id: str, now_ms: int) -> dict[str, Any]:
    """REC refuses every further chunk, finalize, compaction and completion (state `purged`, the state it had
    kept in `purgedFrom` for the worker)."""
    return {"Update": {
        "TableName": table_name, "Key": {"PK": keys.session_pk(session_id), "SK": keys.REC},
        "UpdateExpression": "SET #from = #state, #state = :purged, #at = :now",
        "ConditionExpression": "attribute_exists(PK) AND #state <> :purged",
        "ExpressionAttributeNames": {"#from": "purgedFrom", "#state": "state", "#at": "purgedAt"},
        "ExpressionAttributeValues": {":purged": PURGED, ":now": now_ms},
    }}


def _gen_condition(gen: int) -> str:
    return "(attribute_not_exists(#gen) OR #gen = :gen)" if gen == 0 else "#gen = :gen"

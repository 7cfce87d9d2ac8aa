"""Retention in DynamoDB: expiring a recording (the session stays), the sweep's checkpoints, and the storage-total
repairs of reconciliation (docs/purge-retention.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.model.purge import AuditCheckpoint, Cursor, ReconcileCheckpoint, Retained, StoredSession
from chalicelib.model.sessions import Meta
from chalicelib.store import generations as generation
from chalicelib.store import keys, records
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import (
    GENERATION_NAMES,
    ConditionFailed,
    Entry,
    aws_errors,
    generation_condition,
    transact_each,
)
from chalicelib.store.purge import PurgeRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

GROUP = 15  # recordings per expiry transaction: 4 items each, + 3 shared
# the audit records of each kind of record, which audit expiry deletes
AUDIT_PREFIXES = {keys.SESSION: (keys.COMMAND_PREFIX, keys.EVENTS_PREFIX),
                  keys.FILES: (keys.FILE_EVENT_PREFIX, keys.FILE_BATCH_PREFIX)}


@dataclass(frozen=True)
class Expiry:
    session_id: str
    gen: int
    bytes: int  # what the recording counts in the storage total
    has_rec: bool


class RetentionRepository(PurgeRepository):
    def __init__(self, table: Table, sleep: Callable[[float], Any] | None = None) -> None:
        super().__init__(table, **({"sleep": sleep} if sleep else {}))

    # ---- recordings ------------------------------------------------------------------------------------------
    def retained_page(self, cursor: Cursor | None, limit: int,
                      before: str | None = None) -> tuple[list[Retained], Cursor | None]:
        """One page of finished recordings, oldest session first (`before`: sessions started before it only)."""
        page, cursor = self.list_page(keys.RETAIN_PK, cursor, limit, before=before)
        return [records.retained(item) for item in page], cursor

    def stored(self, session_ids: Sequence[str], retain: bool = False) -> tuple[dict[str, StoredSession], int]:
        """The META and REC (and RETAIN, when `retain`) items of these sessions and the current purge
        generation, in one BatchGetItem."""
        sks = (keys.META, keys.REC, keys.RETAIN) if retain else (keys.META, keys.REC)
        found, current = generation.Generations(self._table).get_with_generation(
            [{"PK": keys.session_pk(i), "SK": sk} for i in session_ids for sk in sks])
        stored = {}
        for session_id in session_ids:
            pk = keys.session_pk(session_id)
            meta, rec, retained = (found.get((pk, sk)) for sk in (keys.META, keys.REC, keys.RETAIN))
            stored[session_id] = StoredSession(
                meta=records.session(meta) if meta is not None else None,
                rec=records.rec_status(rec) if rec is not None else None,
                retain=records.retained(retained) if retained is not None else None)
        return stored, current

    def expire(self, expiries: Sequence[Expiry], gen: int) -> list[str]:
        """Step 1 of a recording's expiry: the session forgets it (hasRecording false, no key), its bytes leave
        the total and it leaves the recordings count, its RETAIN entry is marked `deleting` (so a crash before
        the object is deleted is finished by the next run); one transaction for up to 15. Held, deleted,
        purged or changed sessions are skipped. Returns the ids expired."""
        expired = transact_each(self._table, expiries, GROUP, lambda group: self._expiry_entries(group, gen),
                                sleep=self._sleep)
        return [one.session_id for one in expired]

    def _expiry_entries(self, group: Sequence[Expiry], gen: int) -> list[Entry]:
        name = self._table.name
        entries: list[Entry] = []
        for one in group:
            pk = keys.session_pk(one.session_id)
            entries.append({"Update": {
                "TableName": name, "Key": {"PK": pk, "SK": keys.META},
                "UpdateExpression": "SET hasRecording = :false REMOVE recordingKey",
                "ConditionExpression": "hasRecording = :true AND attribute_not_exists(onHold) AND "
                                       "attribute_not_exists(deleted) AND " + generation_condition(gen),
                "ExpressionAttributeNames": GENERATION_NAMES,
                "ExpressionAttributeValues": {":true": True, ":false": False, ":gen": gen},
            }})
            if one.has_rec:
                entries.append({"Update": {
                    "TableName": name, "Key": {"PK": pk, "SK": keys.REC},
                    "UpdateExpression": "SET #bytes = :zero", "ConditionExpression": "#bytes = :bytes",
                    "ExpressionAttributeNames": {"#bytes": "bytes"},
                    "ExpressionAttributeValues": {":zero": 0, ":bytes": one.bytes},
                }})
            entries.append({"Update": {
                "TableName": name, "Key": {"PK": pk, "SK": keys.RETAIN},
                "UpdateExpression": "SET deleting = :true", "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":true": True},
            }})
        entries.append(generation.check_entry(name, gen))
        entries.append(counter_update(name, {"recordings": -len(group)}, gen=gen))
        size = sum(one.bytes for one in group)
        if size:
            entries.append(counter_update(name, {"bytes": -size}))
        return entries

    def forget_retained(self, session_ids: Sequence[str]) -> None:
        """Delete the RETAIN entries of these sessions (their objects are gone)."""
        self.delete_rows([(keys.session_pk(i), keys.RETAIN) for i in session_ids])

    # ---- audit records ---------------------------------------------------------------------------------------
    def started_before(self, kind: str, gen: int, after: str | None, before: str,
                       limit: int) -> tuple[list[Meta], bool]:
        """One page of the records of `kind` listed in generation `gen` that started before `before`, oldest
        first, from the list sort key `after` on; and whether more follow."""
        start_key = None
        if after:
            item_id = after.rsplit("#", 1)[1]
            start_key = {"PK": f"{kind}#{item_id}", "SK": keys.META, "GSI2PK": keys.all_pk(kind, gen), "GSI2SK": after}
        page, more = self.list_page(keys.all_pk(kind, gen), start_key, limit, before=before)
        return [records.meta(item) for item in page], more is not None

    def delete_audit_records(self, kind: str, item_id: str) -> int:
        """Delete every audit record of one session or file session; how many there were."""
        pk = f"{kind}#{item_id}"
        rows = [(pk, str(i["SK"])) for prefix in AUDIT_PREFIXES[kind] for i in self._query_all(pk, prefix)]
        self.delete_rows(rows)
        return len(rows)

    # ---- checkpoints -----------------------------------------------------------------------------------------
    def _state(self, sk: str) -> dict[str, Any]:
        with aws_errors():
            item = self._table.get_item(Key={"PK": keys.SETTINGS_PK, "SK": sk}, ConsistentRead=True).get("Item")
        return dict(item) if item else {}

    def _save_state(self, sk: str, values: dict[str, Any]) -> None:
        with aws_errors():
            self._table.put_item(Item={"PK": keys.SETTINGS_PK, "SK": sk, **values})

    def audit_checkpoint(self) -> AuditCheckpoint:
        return records.audit_checkpoint(self._state(keys.RETENTION_STATE_SK), tuple(AUDIT_PREFIXES))

    def save_audit_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        # the item rewind_audit changes (audit<kind>, under a condition on gen)
        self._save_state(keys.RETENTION_STATE_SK, {"gen": checkpoint.gen, **{
            f"audit{kind}": after for kind, after in checkpoint.after.items()}})

    def reconcile_checkpoint(self) -> ReconcileCheckpoint:
        return records.reconcile_checkpoint(self._state(keys.RECONCILE_STATE_SK))

    def save_reconcile_checkpoint(self, checkpoint: ReconcileCheckpoint | None) -> None:
        """Keep where the pass stands; None: the pass is done (the next starts from the beginning)."""
        values: dict[str, Any] = {}
        if checkpoint is not None:
            values = {"objects": checkpoint.objects, "drift": checkpoint.drift}
            if checkpoint.start_after is not None:
                values["startAfter"] = checkpoint.start_after
        self._save_state(keys.RECONCILE_STATE_SK, values)

    # ---- reconciliation ----------------------------------------------------------------------------------------
    def resize(self, session_id: str, counted: int, actual: int, has_rec: bool, set_file_size: bool = True,
               has_retain: bool = False) -> bool:
        """The bucket holds `actual` bytes where `counted` were counted: make the total, REC and RETAIN (what size
        retention frees) say so, and META's fileSize when the object is the client's bytes (not the seekable
        rewrite of them)."""
        pk = keys.session_pk(session_id)
        meta: dict[str, Any] = {"TableName": self._table.name, "Key": {"PK": pk, "SK": keys.META},
                                "ConditionExpression": "hasRecording = :true",
                                "ExpressionAttributeValues": {":true": True}}
        if set_file_size:
            meta["UpdateExpression"] = "SET fileSize = :actual"
            meta["ExpressionAttributeValues"][":actual"] = actual
        meta_entry = {"Update": meta} if set_file_size else {"ConditionCheck": meta}
        entries: list[Entry] = [meta_entry, counter_update(self._table.name, {"bytes": actual - counted})]
        if has_rec:
            entries.append({"Update": {
                "TableName": self._table.name, "Key": {"PK": pk, "SK": keys.REC},
                "UpdateExpression": "SET #bytes = :actual", "ConditionExpression": "#bytes = :counted",
                "ExpressionAttributeNames": {"#bytes": "bytes"},
                "ExpressionAttributeValues": {":actual": actual, ":counted": counted}}})
        if has_retain:
            entries.append({"Update": {
                "TableName": self._table.name, "Key": {"PK": pk, "SK": keys.RETAIN},
                "UpdateExpression": "SET #bytes = :actual",
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(deleting)",
                "ExpressionAttributeNames": {"#bytes": "bytes"}, "ExpressionAttributeValues": {":actual": actual}}})
        try:
            self._transact(entries)
        except ConditionFailed:
            return False
        return True

"""Retention in DynamoDB: expiring a recording (the session stays), the sweep's checkpoints, and the storage-total
repairs of reconciliation (docs/purge-retention.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.store import generations as generation
from chalicelib.store import keys
from chalicelib.store.counters import counter_update
from chalicelib.store.dynamo import ConditionFailed, plain, translate
from chalicelib.store.purge import PurgeRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = dict[str, Any]
GROUP = 15  # recordings per expiry transaction: 4 items each, + 3 shared


@dataclass(frozen=True)
class Expiry:
    session_id: str
    gen: int
    bytes: int  # what the recording counts in the storage total
    has_rec: bool


class RetentionRepository(PurgeRepository):
    def __init__(self, table: Table, sleep: Any = None) -> None:
        super().__init__(table, **({"sleep": sleep} if sleep else {}))
        self._table = table

    def expire(self, expiries: Sequence[Expiry], gen: int) -> list[str]:
        """Step 1 of a recording's expiry: the session forgets it (hasRecording false, no key), its bytes leave
        the total and it leaves the recordings count, its RETAIN entry is marked `deleting` (so a crash before
        the object is deleted is finished by the next run); one transaction for up to 15. Held, deleted,
        purged or changed sessions are skipped. Returns the ids expired."""
        done: list[str] = []
        for start in range(0, len(expiries), GROUP):
            group = list(expiries[start:start + GROUP])
            try:
                self._transact(self._expiry_entries(group, gen))
                done.extend(e.session_id for e in group)
            except ConditionFailed:
                for one in group:
                    try:
                        self._transact(self._expiry_entries([one], gen))
                        done.append(one.session_id)
                    except ConditionFailed:
                        continue
        return done

    def _expiry_entries(self, group: Sequence[Expiry], gen: int) -> list[dict[str, Any]]:
        name = self._table.name
        entries: list[dict[str, Any]] = []
        for one in group:
            pk = keys.session_pk(one.session_id)
            entries.append({"Update": {
                "TableName": name, "Key": {"PK": pk, "SK": keys.META},
                "UpdateExpression": "SET hasRecording = :false REMOVE recordingKey",
                "ConditionExpression": "hasRecording = :true AND attribute_not_exists(onHold) AND "
                                       "attribute_not_exists(deleted) AND " + (
                                           "(attribute_not_exists(#gen) OR #gen = :gen)" if gen == 0 else
                                           "#gen = :gen"),
                "ExpressionAttributeNames": {"#gen": "gen"},
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

    # ---- checkpoints -----------------------------------------------------------------------------------------
    def state(self, sk: str) -> Item:
        try:
            item = self._table.get_item(Key={"PK": keys.SETTINGS_PK, "SK": sk}, ConsistentRead=True).get("Item")
        except Exception as exc:
            raise translate(exc) from exc
        return plain(item) if item else {}

    def save_state(self, sk: str, values: Mapping[str, Any]) -> None:
        try:
            self._table.put_item(Item={"PK": keys.SETTINGS_PK, "SK": sk, **values})
        except Exception as exc:
            raise translate(exc) from exc

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
        entries: list[dict[str, Any]] = [meta_entry, counter_update(self._table.name, {"bytes": actual - counted})]
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

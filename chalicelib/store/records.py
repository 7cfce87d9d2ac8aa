"""Items into typed records (chalicelib/model), in one place: the domain and the API never see an item.

Each function takes an item as read from the table (Decimals and all) and converts its numbers here: integral
numbers stay ints."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.model.audit import AccessEntry, CommandRecord, FileEventRecord
from chalicelib.model.purge import AuditCheckpoint, Job, ReconcileCheckpoint, RecStatus, Retained
from chalicelib.model.recording import PURGED
from chalicelib.model.sessions import Connection, FileSession, Meta, RecordingSettings, Session
from chalicelib.store import keys
from chalicelib.store.dynamo import plain


def _meta_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(item["id"]), "user_id": str(item["userId"]), "protocol": str(item["protocol"]),
        "started_at": str(item["startedAt"]), "username": item.get("username"),
        "connection_id": item.get("connectionId"), "connection_name": item.get("connectionName"),
        "ended_at": item.get("endedAt"), "gen": int(plain(item.get("gen", 0))), "on_hold": bool(item.get("onHold")),
        "deleted": bool(item.get("deleted")), "has_recording": bool(item.get("hasRecording", False)),
    }


def session(item: Mapping[str, Any]) -> Session:
    return Session(
        **_meta_fields(item), file_size=int(plain(item.get("fileSize", 0))),
        recording_state=item.get("recordingState"), recording_key=item.get("recordingKey"),
        sha256=item.get("sha256"), missing_chunks=tuple(int(plain(i)) for i in item.get("missingChunks") or ()),
        end_reason=item.get("endReason"), seekable=plain(item["seekable"]) if "seekable" in item else None,
        quota_exceeded=bool(item.get("quotaExceeded")),
    )


def file_session(item: Mapping[str, Any]) -> FileSession:
    return FileSession(**_meta_fields(item), event_count=int(plain(item.get("eventCount", 0))))


def meta(item: Mapping[str, Any]) -> Meta:
    """A META item of either kind, by its partition key."""
    return file_session(item) if str(item["PK"]).startswith(keys.FILES + "#") else session(item)


def meta_item(record: Meta) -> dict[str, Any]:
    """The attributes of a new META item (its keys and list index attributes aside)."""
    item: dict[str, Any] = {
        "id": record.id, "userId": record.user_id, "username": record.username, "protocol": record.protocol,
        "connectionId": record.connection_id, "connectionName": record.connection_name,
        "startedAt": record.started_at, "endedAt": record.ended_at,
    }
    if isinstance(record, Session):
        item.update(hasRecording=record.has_recording, fileSize=record.file_size,
                    recordingState=record.recording_state)
    elif isinstance(record, FileSession):
        item["eventCount"] = record.event_count
    return {name: value for name, value in item.items() if value is not None}


def recording_settings(item: Mapping[str, Any] | None) -> RecordingSettings:
    stored = plain(dict(item or {}))
    defaults = RecordingSettings()
    return RecordingSettings(enabled=stored.get("enabled", defaults.enabled),
                             retention_days=stored.get("retentionDays", defaults.retention_days),
                             max_total_bytes=stored.get("maxTotalBytes", defaults.max_total_bytes),
                             min_retention_days=stored.get("minRetentionDays", defaults.min_retention_days),
                             max_user_bytes_per_day=stored.get("maxUserBytesPerDay",
                                                               defaults.max_user_bytes_per_day))


def connection(connection_id: str, item: Mapping[str, Any]) -> Connection:
    return Connection(connection_id, item.get("name"), bool(item.get("recordingEnabled", True)))


def command(doc: str) -> CommandRecord:
    """A command as it was stored: compact JSON text, so `elapsed` keeps the type the gateway sent."""
    value = json.loads(doc)
    return CommandRecord(value["id"], value["timestamp"], value["elapsed"], value["command"],
                         value["output_preview"])


def command_doc(record: CommandRecord) -> dict[str, Any]:
    """What a command item keeps (as compact JSON text)."""
    return {"id": record.id, "timestamp": record.timestamp, "elapsed": record.elapsed, "command": record.command,
            "output_preview": record.output_preview}


def file_event_doc(record: FileEventRecord) -> dict[str, Any]:
    return {"id": record.id, "timestamp": record.timestamp, "action": record.action, "path": record.path,
            "detail": record.detail, "receivedAt": record.received_at}


def file_event(doc: str) -> FileEventRecord:
    value = json.loads(doc)
    return FileEventRecord(value["id"], value["timestamp"], value["action"], value["path"], value.get("detail"),
                           value.get("receivedAt", ""))


def access_entry(item: Mapping[str, Any]) -> AccessEntry:
    return AccessEntry(at=str(item["at"]), user_id=str(item["userId"]), username=str(item["username"]),
                       action=str(item["action"]), target=str(item["target"]), ip=item.get("ip"),
                       detail=plain(item["detail"]) if "detail" in item else None)


def job(item: Mapping[str, Any]) -> Job:
    value = plain(dict(item))
    return Job(sk=str(value["SK"]), kind=str(value.get("kind")), created_at=int(value.get("createdAt", 0)),
               closed_at=int(value.get("closedAt", 0)), lease_until=int(value.get("leaseUntil", 0)),
               phase=value.get("phase"), cursor=value.get("cursor"), gen=int(value.get("gen", 0)),
               target=value.get("target"), id=value.get("id"))


def rec_status(item: Mapping[str, Any]) -> RecStatus:
    state = str(item.get("state"))
    return RecStatus(state=state, purged_from=item.get("purgedFrom") if state == PURGED else None,
                     upload_id=item.get("uploadId") or None, bytes=int(plain(item.get("bytes", 0))))


def retained(item: Mapping[str, Any]) -> Retained:
    return Retained(session_id=str(item["id"]), bytes=int(plain(item.get("bytes", 0))), key=str(item["key"]),
                    deleting=bool(item.get("deleting")))


def audit_checkpoint(item: Mapping[str, Any], kinds: tuple[str, ...]) -> AuditCheckpoint:
    value = plain(dict(item))
    return AuditCheckpoint(gen=int(value.get("gen", -1)),
                           after={kind: str(value[f"audit{kind}"]) for kind in kinds if value.get(f"audit{kind}")})


def reconcile_checkpoint(item: Mapping[str, Any]) -> ReconcileCheckpoint:
    value = plain(dict(item))
    return ReconcileCheckpoint(start_after=value.get("startAfter"), objects=int(value.get("objects", 0)),
                               drift=int(value.get("drift", 0)))

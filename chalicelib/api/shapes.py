"""API shapes, kept apart from storage shapes: only these fields leave the service."""

from __future__ import annotations

from typing import Any

from chalicelib.model.audit import AccessEntry, CommandRecord, FileEventRecord
from chalicelib.model.sessions import Connection, FileSession, RecordingSettings, Session


def session(record: Session) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "id": record.id, "userId": record.user_id, "protocol": record.protocol, "startedAt": record.started_at,
        "endedAt": record.ended_at, "hasRecording": record.has_recording, "fileSize": record.file_size,
        "connectionName": record.connection_name, "username": record.username,
    }
    # these only when the session has them
    extras = {"connectionId": record.connection_id, "recordingState": record.recording_state,
              "sha256": record.sha256, "missingChunks": list(record.missing_chunks) or None,
              "onHold": True if record.on_hold else None, "endReason": record.end_reason}
    shaped.update({name: value for name, value in extras.items() if value is not None})
    return shaped


def file_session(record: FileSession) -> dict[str, Any]:
    return {"id": record.id, "userId": record.user_id, "protocol": record.protocol, "startedAt": record.started_at,
            "endedAt": record.ended_at, "connectionName": record.connection_name, "username": record.username,
            "eventCount": record.event_count, "connectionId": record.connection_id,
            **({"onHold": True} if record.on_hold else {})}


def recording_settings(values: RecordingSettings) -> dict[str, Any]:
    return {"enabled": values.enabled, "retentionDays": values.retention_days,
            "maxTotalBytes": values.max_total_bytes}


def connection(record: Connection) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "recordingEnabled": record.recording_enabled}


def command(record: CommandRecord) -> dict[str, Any]:
    return {"id": record.id, "timestamp": record.timestamp, "elapsed": record.elapsed, "command": record.command,
            "output_preview": record.output_preview}


def input_event(elapsed: int | float, event_type: str) -> dict[str, Any]:
    return {"elapsed": elapsed, "event_type": event_type}


def file_event(record: FileEventRecord) -> dict[str, Any]:
    return {"id": record.id, "timestamp": record.timestamp, "action": record.action, "path": record.path,
            "detail": record.detail}


def access_entry(entry: AccessEntry) -> dict[str, Any]:
    return {"at": entry.at, "userId": entry.user_id, "username": entry.username, "action": entry.action,
            "target": entry.target, "ip": entry.ip}

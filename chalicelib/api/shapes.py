"""API shapes, kept apart from storage shapes: only these fields leave the service.

Every time an answer carries goes through `answer_time`, the one place that writes TIMESTAMP_FORMAT's form: the
store keeps ISO 8601 whatever the setting (its list keys sort by it), so the setting can change at any time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.container import services
from chalicelib.model.audit import AccessEntry, CommandRecord, FileEventRecord
from chalicelib.model.sessions import Connection, FileSession, RecordingSettings, Session


def gateway_time(value: str) -> str:
    """2024-01-01T00:00:00.123Z -> 2024-01-01 00:00:00: UTC, cut to the second, as the gateway's own server writes
    its times (SQLite's datetime('now')) and its history page reads them (`new Date(t.replace(' ', 'T') + 'Z')`)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # not a time (nothing stored is): shown as it is rather than lost
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # isoformat, not strftime: it always writes four year digits (see domain.sessions.iso)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def answer_time(value: str | None) -> str | None:
    """A stored (ISO) time as answers write it: as stored, or in the gateway's form (TIMESTAMP_FORMAT=gateway)."""
    if value is None or services().settings.timestamp_format != "gateway":
        return value
    return gateway_time(value)


def session(record: Session) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "id": record.id, "userId": record.user_id, "protocol": record.protocol,
        "startedAt": answer_time(record.started_at), "endedAt": answer_time(record.ended_at),
        "hasRecording": record.has_recording, "fileSize": record.file_size,
        "connectionName": record.connection_name, "username": record.username,
    }
    # these only when the session has them
    extras = {"connectionId": record.connection_id, "recordingState": record.recording_state,
              "sha256": record.sha256, "missingChunks": list(record.missing_chunks) or None,
              "onHold": True if record.on_hold else None, "endReason": record.end_reason,
              "quotaExceeded": True if record.quota_exceeded else None}
    shaped.update({name: value for name, value in extras.items() if value is not None})
    return shaped


def file_session(record: FileSession) -> dict[str, Any]:
    return {"id": record.id, "userId": record.user_id, "protocol": record.protocol,
            "startedAt": answer_time(record.started_at), "endedAt": answer_time(record.ended_at),
            "connectionName": record.connection_name, "username": record.username,
            "eventCount": record.event_count, "connectionId": record.connection_id,
            **({"onHold": True} if record.on_hold else {})}


def recording_settings(values: RecordingSettings) -> dict[str, Any]:
    return {"enabled": values.enabled, "retentionDays": values.retention_days,
            "maxTotalBytes": values.max_total_bytes, "minRetentionDays": values.min_retention_days,
            "maxUserBytesPerDay": values.max_user_bytes_per_day}


def connection(record: Connection) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "recordingEnabled": record.recording_enabled}


def command(record: CommandRecord) -> dict[str, Any]:
    return {"id": record.id, "timestamp": answer_time(record.timestamp), "elapsed": record.elapsed,
            "command": record.command, "output_preview": record.output_preview}


def input_event(elapsed: int | float, event_type: str) -> dict[str, Any]:
    return {"elapsed": elapsed, "event_type": event_type}


def file_event(record: FileEventRecord) -> dict[str, Any]:
    return {"id": record.id, "timestamp": answer_time(record.timestamp), "action": record.action, "path": record.path,
            "detail": record.detail}


def access_entry(entry: AccessEntry) -> dict[str, Any]:
    return {"at": answer_time(entry.at), "userId": entry.user_id, "username": entry.username, "action": entry.action,
            "target": entry.target, "ip": entry.ip}

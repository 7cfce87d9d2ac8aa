"""API shapes, kept apart from storage shapes: only these fields leave the service."""

from __future__ import annotations

from typing import Any, Mapping

_SESSION_FIELDS = ("id", "userId", "protocol", "startedAt", "endedAt", "hasRecording", "fileSize",
                   "connectionName", "username")
_SESSION_EXTRAS = ("connectionId", "recordingState", "sha256", "missingChunks", "onHold", "endReason")
_FILE_SESSION_FIELDS = ("id", "userId", "protocol", "startedAt", "endedAt", "connectionName", "username",
                        "eventCount")


def session(item: Mapping[str, Any]) -> dict[str, Any]:
    shaped = {name: item.get(name) for name in _SESSION_FIELDS}
    shaped["hasRecording"] = bool(item.get("hasRecording", False))
    shaped["fileSize"] = int(item.get("fileSize", 0))
    shaped.update({name: item[name] for name in _SESSION_EXTRAS if name in item})
    return shaped


def file_session(item: Mapping[str, Any]) -> dict[str, Any]:
    shaped = {name: item.get(name) for name in _FILE_SESSION_FIELDS}
    shaped["eventCount"] = int(item.get("eventCount", 0))
    shaped["connectionId"] = item.get("connectionId")
    return shaped


def recording_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"enabled": values["enabled"], "retentionDays": values["retentionDays"],
            "maxTotalBytes": values["maxTotalBytes"]}


def connection(item: Mapping[str, Any], connection_id: str) -> dict[str, Any]:
    return {"id": connection_id, "name": item.get("name"), "recordingEnabled": item.get("recordingEnabled", True)}


_COMMAND_FIELDS = ("id", "timestamp", "elapsed", "command", "output_preview")
_FILE_EVENT_FIELDS = ("id", "timestamp", "action", "path", "detail")


def command(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in _COMMAND_FIELDS}


def input_event(elapsed: int | float, event_type: str) -> dict[str, Any]:
    return {"elapsed": elapsed, "event_type": event_type}


def file_event(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in _FILE_EVENT_FIELDS}

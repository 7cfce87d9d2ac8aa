"""Views of /settings/recording and /connections/{id} (settings.manage)."""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.api import params, shapes
from chalicelib.api.http import caller, json_response
from chalicelib.container import services
from chalicelib.domain import access
from chalicelib.errors import BadRequest

MAX_RETENTION_DAYS = 36_500
SETTINGS_FIELDS = ("enabled", "retentionDays", "maxTotalBytes", "minRetentionDays", "maxUserBytesPerDay")


def get_recording(request: Request) -> Response:
    return json_response(shapes.recording_settings(services().recording_settings.recording(caller(request))))


def _days(body: dict[str, Any], name: str, lowest: int) -> int:
    days = body[name]
    if isinstance(days, bool) or not isinstance(days, int) or not lowest <= days <= MAX_RETENTION_DAYS:
        raise BadRequest(f"{name} must be an integer from {lowest} to {MAX_RETENTION_DAYS}")
    return days


def _bytes_or_none(body: dict[str, Any], name: str) -> int | None:
    limit = body[name]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit < 2**63):
        raise BadRequest(f"{name} must be a positive integer or null")
    return limit


def _recording_changes(body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "enabled" in body:
        changes["enabled"] = params.boolean(body["enabled"], "enabled")
    if "retentionDays" in body:
        changes["retentionDays"] = _days(body, "retentionDays", 1)
    if "minRetentionDays" in body:  # 0: size retention may take any finished recording
        changes["minRetentionDays"] = _days(body, "minRetentionDays", 0)
    for name in ("maxTotalBytes", "maxUserBytesPerDay"):
        if name in body:
            changes[name] = _bytes_or_none(body, name)
    return changes


def put_recording(request: Request) -> Response:
    who = caller(request)
    access.require(who, access.MANAGE_SETTINGS)  # 403 before any 400 about the body
    body = params.json_object(request.raw_body, request.headers.get("content-type"), SETTINGS_FIELDS)
    updated = services().recording_settings.update_recording(who, _recording_changes(body))
    return json_response(shapes.recording_settings(updated))


def put_connection(request: Request, connection_id: str) -> Response:
    who = caller(request)
    access.require(who, access.MANAGE_SETTINGS)
    connection_id = params.valid_id(connection_id, "connection id")
    body = params.json_object(request.raw_body, request.headers.get("content-type"), ("name", "recordingEnabled"))
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = params.optional_string(body, "name")
    if "recordingEnabled" in body:
        changes["recordingEnabled"] = params.boolean(body["recordingEnabled"], "recordingEnabled")
    if not changes or changes.get("name", "") is None:
        raise BadRequest("give a name (1 to 256 characters) and/or recordingEnabled")
    stored = services().recording_settings.put_connection(who, connection_id, changes)
    return json_response(shapes.connection(stored))

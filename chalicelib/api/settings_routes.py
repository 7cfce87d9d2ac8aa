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


def get_recording(request: Request) -> Response:
    return json_response(shapes.recording_settings(services().recording_settings.recording(caller(request))))


def _recording_changes(body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "enabled" in body:
        changes["enabled"] = params.boolean(body["enabled"], "enabled")
    if "retentionDays" in body:
        days = body["retentionDays"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
            raise BadRequest(f"retentionDays must be an integer from 1 to {MAX_RETENTION_DAYS}")
        changes["retentionDays"] = days
    if "maxTotalBytes" in body:
        limit = body["maxTotalBytes"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit < 2**63):
            raise BadRequest("maxTotalBytes must be a positive integer or null")
        changes["maxTotalBytes"] = limit
    return changes


def put_recording(request: Request) -> Response:
    who = caller(request)
    access.require(who, access.MANAGE_SETTINGS)  # 403 before any 400 about the body
    body = params.json_object(
        request.raw_body, request.headers.get("content-type"), ("enabled", "retentionDays", "maxTotalBytes")
    )
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

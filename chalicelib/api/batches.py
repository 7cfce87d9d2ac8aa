"""Parsing of audit batches (commands, input events, file events): a whole batch is valid, or it is a 400 and
nothing of it is stored. Limits and their reasons: docs/audit-records.md."""

from __future__ import annotations

import json
import math
from typing import Any

from chalicelib.api import params
from chalicelib.domain.audit import FILE_ACTIONS, INPUT_EVENT_TYPES, Command, FileBatch, FileEvent
from chalicelib.domain.sessions import FILE_PROTOCOLS
from chalicelib.errors import BadRequest
from chalicelib.model.audit import ELAPSED_DIGITS, Elapsed, InputEvent

MAX_COMMANDS = 1_000
MAX_INPUT_EVENTS = 10_000
MAX_FILE_EVENTS = 1_000
MAX_ELAPSED = 10**ELAPSED_DIGITS  # exclusive
# Bounds that keep one command item far below DynamoDB's 400 KB even if every character needed a \u escape.
MAX_COMMAND_CHARS = 32_768
PREVIEW_CHARS = 2_048  # longer previews are cut to this, ending in "..." as the proxy's own truncation does
MAX_PATH_CHARS = 4_096
MAX_DETAIL_BYTES = 4_096


def _array(value: Any, limit: int, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be a JSON array")
    if len(value) > limit:
        raise BadRequest(f"{what} may hold at most {limit} entries per call, got {len(value)}")
    return value


def _entry(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be a JSON object")
    return value


def elapsed(value: Any, where: str) -> Elapsed:
    """A number of seconds, int or float, kept exactly as sent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and not math.isfinite(value)
    ) or not 0 <= value < MAX_ELAPSED:
        raise BadRequest(f"{where}.elapsed must be a finite number from 0 to below {MAX_ELAPSED}")
    return value


def _timestamp(entry: dict[str, Any], where: str) -> str | None:
    return params.body_time(entry, "timestamp", where)


def _text(entry: dict[str, Any], name: str, where: str, max_chars: int, required: bool) -> str:
    value = entry.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > max_chars or (required and not value):
        size = f"1 to {max_chars}" if required else f"at most {max_chars}"
        raise BadRequest(f"{where}.{name} must be a string of {size} characters")
    return value


def _preview(entry: dict[str, Any], where: str) -> str:
    value = entry.get("output_preview")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{where}.output_preview must be a string")
    return value if len(value) <= PREVIEW_CHARS else value[: PREVIEW_CHARS - 3] + "..."


def commands(raw: bytes | str | None, content_type: str | None) -> list[Command]:
    body = _array(params.json_body(raw, content_type), MAX_COMMANDS, "commands")
    parsed = []
    for index, value in enumerate(body):
        where = f"commands[{index}]"
        entry = _entry(value, where)
        command = entry.get("command")
        if not isinstance(command, str) or len(command) > MAX_COMMAND_CHARS:
            raise BadRequest(f"{where}.command must be a string of at most {MAX_COMMAND_CHARS} characters")
        parsed.append(Command(elapsed(entry.get("elapsed"), where), command, _preview(entry, where),
                              _timestamp(entry, where)))
    return parsed


def input_events(raw: bytes | str | None, content_type: str | None) -> list[InputEvent]:
    body = _array(params.json_body(raw, content_type), MAX_INPUT_EVENTS, "events")
    parsed: list[InputEvent] = []
    for index, value in enumerate(body):
        where = f"events[{index}]"
        entry = _entry(value, where)
        kind = params.one_of(entry.get("type"), INPUT_EVENT_TYPES, f"{where}.type")
        parsed.append(InputEvent(elapsed(entry.get("elapsed"), where), kind))
    return parsed


def _detail(entry: dict[str, Any], where: str) -> Any:
    detail = entry.get("detail")
    if detail is None:
        return None
    if not isinstance(detail, (dict, str)):
        raise BadRequest(f"{where}.detail must be a JSON object or a string")
    try:
        text = json.dumps(detail, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN or Infinity somewhere inside: not JSON a browser could read back
        raise BadRequest(f"{where}.detail must be valid JSON") from exc
    if len(text.encode()) > MAX_DETAIL_BYTES:
        raise BadRequest(f"{where}.detail may take at most {MAX_DETAIL_BYTES} bytes as JSON")
    return detail


def file_batch(raw: bytes | str | None, content_type: str | None) -> FileBatch:
    body = params.json_object(raw, content_type)
    protocol = params.one_of(body.get("protocol"), FILE_PROTOCOLS, "protocol")
    connection_id = params.valid_id(body.get("connectionId"), "connectionId")
    entries = _array(body.get("events"), MAX_FILE_EVENTS, "events")
    if not entries:
        raise BadRequest("events must hold at least one event")
    events = []
    for index, value in enumerate(entries):
        where = f"events[{index}]"
        entry = _entry(value, where)
        events.append(FileEvent(
            action=params.one_of(entry.get("action"), FILE_ACTIONS, f"{where}.action"),
            path=_text(entry, "path", where, MAX_PATH_CHARS, required=True),
            detail=_detail(entry, where),
            timestamp=_timestamp(entry, where),
        ))
    return FileBatch(protocol, connection_id, tuple(events), params.on_behalf(body), params.backfill(body))

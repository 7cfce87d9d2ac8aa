"""Views of the audit records: /sessions/{id}/commands, /sessions/{id}/recording/events, /file-sessions.

A record read without `limit` and `cursor` answers every record (the gateway's player and history page read them
so), streamed as it is read (chalicelib/api/answers.py: S3 when large); with either, one page of at most `limit`
and a signed `nextCursor` (docs/audit-records.md). Every read is in the access log before it is answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalice.app import Request, Response

from chalicelib.api import answers, batches, cursors, file_export, lists, params, shapes
from chalicelib.api.http import caller, client_ip, json_response, query
from chalicelib.container import services
from chalicelib.domain import access_log
from chalicelib.domain.access import Caller
from chalicelib.domain.sessions import FILE_PROTOCOLS, FILES_KIND
from chalicelib.errors import BadRequest
from chalicelib.model.sessions import Cursor

OK = {"ok": True}
# the most a page holds: a command may be 32,768 characters, an input event is a few bytes
COMMANDS_PAGE = 1_000
EVENTS_PAGE = 10_000
FILE_EVENTS_PAGE = 1_000


@dataclass(frozen=True)
class RecordRead:
    """One kind of record read: the answer's field, its access-log action, its largest page, and how to read
    every record (`whole`) or a page (`page`); both check the caller's rights before reading anything."""

    kind: str  # "commands", "events" or "file-events": the cursor's scope and the parked answer's name
    field: str
    action: str
    largest_page: int
    shape: Callable[[Any], dict[str, Any]]
    whole: Callable[[Caller, str], Iterable[Any]]
    page: Callable[[Caller, str, int, Cursor | None], tuple[list[Any], Cursor | None]]
    target: Callable[[str], str] = access_log.session_target


def _read_records(request: Request, session_id: str, read: RecordRead) -> Response:
    """Every record (streamed) or, with `limit` or `cursor`, one page; the access-log entry is written between
    the rights check and the answer, as playback's is."""
    who = caller(request)
    raw = query(request)
    secret = services().settings.jwt_secret
    scope = f"{read.kind}|{session_id}"
    filename = f"{read.kind}-{session_id}.json"
    if not raw.get("limit") and not raw.get("cursor"):
        found = read.whole(who, session_id)
        services().access_log.record(who, read.action, read.target(session_id), client_ip(request))
        return answers.json_records(read.field, found, read.shape, filename)
    limit = params.query_int(raw, "limit", read.largest_page, 1, read.largest_page)
    items, next_key = read.page(who, session_id, limit, cursors.decode(raw.get("cursor"), scope, secret))
    services().access_log.record(who, read.action, read.target(session_id), client_ip(request), limit=limit)
    return answers.json_answer({read.field: [read.shape(i) for i in items], "limit": limit,
                                "nextCursor": cursors.encode(next_key, scope, secret)}, filename)


def add_commands(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    parsed = batches.commands(request.raw_body, request.headers.get("content-type"))
    services().audit.add_commands(caller(request), session_id, parsed)
    return json_response(OK)


def list_commands(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    audit = services().audit
    return _read_records(request, session_id, RecordRead("commands", "commands", access_log.COMMANDS_READ,
                                                         COMMANDS_PAGE, shapes.command, audit.commands,
                                                         audit.commands_page))


def add_input_events(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    parsed = batches.input_events(request.raw_body, request.headers.get("content-type"))
    services().audit.add_events(caller(request), session_id, parsed)
    return json_response(OK)


def list_input_events(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    audit = services().audit
    return _read_records(request, session_id, RecordRead("events", "events", access_log.EVENTS_READ, EVENTS_PAGE,
                                                         _input_event, audit.events, audit.events_page))


def _input_event(event: Any) -> dict[str, Any]:
    return shapes.input_event(*event)


def list_file_sessions(request: Request) -> Response:
    svc = services()
    items, paging = lists.list_page(
        FILES_KIND, caller(request), query(request), FILE_PROTOCOLS, svc.file_audit.page, svc.settings.jwt_secret,
        svc.file_audit.current_generation,
    )
    return json_response({"sessions": [shapes.file_session(i) for i in items], **paging})


def add_file_events(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "file session id")
    parsed = batches.file_batch(request.raw_body, request.headers.get("content-type"))
    services().file_audit.add_events(caller(request), session_id, parsed)
    return json_response(OK)


def list_file_events(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "file session id")
    file_audit = services().file_audit
    return _read_records(request, session_id, RecordRead(
        "file-events", "events", access_log.FILE_EVENTS_READ, FILE_EVENTS_PAGE, shapes.file_event,
        lambda who, item_id: file_audit.events(who, item_id)[1], file_audit.events_page,
        access_log.file_session_target))


def export_file_session(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "file session id")
    export_format = query(request).get("format") or "json"
    if export_format not in file_export.FORMATS:
        raise BadRequest("format must be json or csv")
    svc = services()
    who = caller(request)
    session, found = svc.file_audit.events(who, session_id)
    svc.access_log.record(who, access_log.EXPORT, access_log.file_session_target(session_id), client_ip(request),
                          format=export_format)
    name = file_export.filename(session_id, export_format)
    if export_format == "csv":
        return answers.answer(file_export.csv_text(session, found), answers.CSV, name, download=True)
    return answers.json_answer(file_export.json_body(session, found), name, download=True)

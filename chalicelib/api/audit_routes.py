"""Views of the audit records: /sessions/{id}/commands, /sessions/{id}/recording/events, /file-sessions."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.api import answers, batches, file_export, lists, params, shapes
from chalicelib.api.http import caller, client_ip, json_response, query
from chalicelib.container import services
from chalicelib.domain import access_log
from chalicelib.domain.sessions import FILE_PROTOCOLS, FILES_KIND
from chalicelib.errors import BadRequest

OK = {"ok": True}


def add_commands(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    parsed = batches.commands(request.raw_body, request.headers.get("content-type"))
    services().audit.add_commands(caller(request), session_id, parsed)
    return json_response(OK)


def list_commands(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    found = services().audit.commands(caller(request), session_id)
    return answers.json_answer({"commands": [shapes.command(c) for c in found]}, f"commands-{session_id}.json")


def add_input_events(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    parsed = batches.input_events(request.raw_body, request.headers.get("content-type"))
    services().audit.add_events(caller(request), session_id, parsed)
    return json_response(OK)


def list_input_events(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    found = services().audit.events(caller(request), session_id)
    return answers.json_answer({"events": [shapes.input_event(*e) for e in found]}, f"events-{session_id}.json")


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
    _, found = services().file_audit.events(caller(request), session_id)
    return answers.json_answer({"events": [shapes.file_event(e) for e in found]}, f"file-events-{session_id}.json")


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

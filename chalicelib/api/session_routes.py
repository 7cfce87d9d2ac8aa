"""Views of /sessions: start, list, one session."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.api import lists, params, shapes
from chalicelib.api.http import caller, json_response, query
from chalicelib.container import services
from chalicelib.domain.sessions import RECORDED_PROTOCOLS, SESSION_KIND


def _start(request: Request, protocol: str | None) -> Response:
    body = params.json_object(request.raw_body, request.headers.get("content-type"))
    if protocol is None:
        protocol = params.one_of(body.get("protocol"), RECORDED_PROTOCOLS, "protocol")
    connection_id = params.valid_id(body.get("connectionId"), "connectionId")
    session_id = services().sessions.start(caller(request), protocol, connection_id, params.on_behalf(body),
                                           params.backfill(body))
    return json_response({"sessionId": session_id, "shouldRecord": session_id is not None})


def start_rdp(request: Request) -> Response:
    return _start(request, "rdp")


def start(request: Request) -> Response:
    return _start(request, None)


def list_sessions(request: Request) -> Response:
    svc = services()
    items, paging = lists.list_page(
        SESSION_KIND, caller(request), query(request), RECORDED_PROTOCOLS, svc.sessions.page, svc.settings.jwt_secret,
        svc.sessions.current_generation,
    )
    return json_response({"sessions": [shapes.session(i) for i in items], **paging})


def get_session(request: Request, session_id: str) -> Response:
    session = services().sessions.get(caller(request), params.valid_id(session_id, "session id"))
    return json_response(shapes.session(session))

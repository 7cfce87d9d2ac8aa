"""Views of purge, single deletes, legal holds and the access log; the worker's and the sweep's entry points."""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.api import cursors, params, shapes
from chalicelib.api.http import caller, client_ip, json_response, query
from chalicelib.container import services
from chalicelib.domain import access
from chalicelib.model.sessions import FILES_KIND, SESSION_KIND

OK = {"ok": True}
ACCESS_LOG_SCOPE = "access-log"


def purge(request: Request) -> Response:
    return json_response(services().purge.purge(caller(request), client_ip(request)))


def delete_session(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    services().purge.delete(caller(request), SESSION_KIND, session_id, client_ip(request))
    return json_response(OK)


def delete_file_session(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "file session id")
    services().purge.delete(caller(request), FILES_KIND, session_id, client_ip(request))
    return json_response(OK)


def hold(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    services().purge.hold(caller(request), SESSION_KIND, session_id, client_ip(request))
    return json_response(OK)


def release(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    services().purge.release(caller(request), SESSION_KIND, session_id, client_ip(request))
    return json_response(OK)


def hold_file_session(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "file session id")
    services().purge.hold(caller(request), FILES_KIND, session_id, client_ip(request))
    return json_response(OK)


def release_file_session(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "file session id")
    services().purge.release(caller(request), FILES_KIND, session_id, client_ip(request))
    return json_response(OK)


def list_access_log(request: Request) -> Response:
    svc = services()
    who = caller(request)
    access.require(who, access.MANAGE_SETTINGS)  # 403 before any 400 about the query
    raw = query(request)
    page, limit = params.paging(raw)
    start_key = cursors.decode(raw.get("cursor"), ACCESS_LOG_SCOPE, svc.settings.jwt_secret)
    skip = 0 if start_key is not None else (page - 1) * limit
    found = svc.access_log.page(who, limit, skip, start_key)
    return json_response({
        "entries": [shapes.access_entry(entry) for entry in found.items],
        "page": page,
        "limit": limit,
        "nextCursor": cursors.encode(found.next_key, ACCESS_LOG_SCOPE, svc.settings.jwt_secret),
    })


def worker() -> dict[str, Any]:
    return services().purge.work()


def retention_sweep() -> dict[str, Any]:
    return services().retention.sweep()

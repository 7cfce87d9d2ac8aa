"""The HTTP edge: the app class whose views map errors at the boundary, and one Chalice middleware that
authenticates every data route and gives every answer the service's error shape."""

from __future__ import annotations

from typing import Any, Callable

from chalice.app import Chalice, Request, Response

from chalicelib.api import errors
from chalicelib.api.auth import authenticate
from chalicelib.api.origins import refuse_cross_site
from chalicelib.container import services
from chalicelib.domain.access import Caller

# Routes anyone may fetch: the viewer's static files and the API document. Everything else needs a token.
PUBLIC_ROUTES = frozenset({"/", "/openapi.yaml", "/viewer/{name}", "/viewer/vendor/{name}"})
_CALLER = "sessionAuditCaller"


class ServiceApp(Chalice):
    """Chalice, with every route's view wrapped by `errors.at_boundary` as it is registered, so that a domain error
    (a plain exception) answers with its status instead of Chalice's generic 500 (see at_boundary for why)."""

    def route(self, path: str, **kwargs: Any) -> Callable[..., Any]:
        register = super().route(path, **kwargs)

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            register(errors.at_boundary(view))
            return view

        return decorate


def middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    public = request.context.get("resourcePath") in PUBLIC_ROUTES

    def handle() -> Response:
        if not public:
            settings = services().settings
            request.context[_CALLER] = authenticate(request.headers, settings)
            refuse_cross_site(request.method, request.headers, settings)
        return get_response(request)

    response = errors.guarded(handle)
    if not public:
        # what a token reads (audit records, exports, the access log...) is never kept by a browser or a proxy
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def caller(request: Request) -> Caller:
    found: Caller = request.context[_CALLER]
    return found


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def client_ip(request: Request) -> str | None:
    """The caller's address as API Gateway saw it (the access log's `ip`)."""
    identity = (request.context or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip) if ip else None

"""GET /health: the deployment's configuration as AWS sees it, for an admin (settings.manage)."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.api.http import caller, json_response
from chalicelib.container import services


def health(request: Request) -> Response:
    return json_response(services().health.report(caller(request)), headers={"Cache-Control": "no-store"})

"""`chalice local` answering a path or method no route has as the deployed API does.

API Gateway calls an unknown route a missing authentication token; `infra/resources.yaml` gives that gateway
response the app's error shape (404 `{"error": "no such route or method"}`). `chalice local` instead answers 403
`{"message": "Missing Authentication Token"}`, or echoes the caller's Authorization header (the token) back in
the body. This runs `chalice local` with its gateway answering as the deployed one.

Its HTTP server also answers a method it has no handler for (TRACE, CONNECT, PROPFIND, anything) with the
stdlib's HTML 501. Here every method reaches the gateway: on a path no route has that is the 404 above, on a
known path the app's 405 `{"error": "Unsupported method: TRACE"}`, as for PATCH (README, "Unknown
routes and methods").

    python scripts/chalice_local.py local --stage local --port 8000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NO_ROUTE = {"error": "no such route or method"}
# the same headers as the deployed gateway responses (infra/resources.yaml)
NO_ROUTE_HEADERS = {
    "Content-Type": "application/json",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization,Content-Type",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
}


def answer_unknown_routes_as_deployed() -> None:
    from chalice import local

    handle_request = local.LocalGateway.handle_request

    def handle(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return handle_request(self, method, path, headers, body)
        except local.ForbiddenError as exc:
            if exc.headers.get("x-amzn-ErrorType") != "UnauthorizedException":
                raise  # an authorizer's refusal (the app has none), not a missing route
            return {"statusCode": 404, "headers": dict(NO_ROUTE_HEADERS), "multiValueHeaders": {},
                    "body": json.dumps(NO_ROUTE)}

    local.LocalGateway.handle_request = handle  # type: ignore[method-assign]


def answer_every_method_as_json() -> None:
    from chalice import local

    def any_method(self: Any, name: str) -> Any:
        # only reached for attributes the class lacks: `do_TRACE` and the like, which would otherwise be a 501
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    local.ChaliceRequestHandler.__getattr__ = any_method  # type: ignore[attr-defined]


def main() -> int:
    args = sys.argv[1:]
    answer_unknown_routes_as_deployed()
    answer_every_method_as_json()
    # chalice's auto-reloader starts its worker with sys.argv: make that this script again, not `chalice`
    sys.argv = [sys.executable, str(Path(__file__).resolve()), *args]
    from chalice.cli import cli

    result: int = cli(args=args, obj={})  # type: ignore[call-arg]
    return result


if __name__ == "__main__":
    sys.exit(main())

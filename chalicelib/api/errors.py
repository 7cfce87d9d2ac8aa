"""Every error leaves the service as JSON {"error": "..."}: domain errors, Chalice's own 4xx, and crashes."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from chalice.app import ChaliceError, Response

from chalicelib.errors import ServiceError
from chalicelib.settings import ConfigError

log = logging.getLogger("session_audit")


def error_response(status: int, message: str, **extra: Any) -> Response:
    return Response(body={"error": message, **extra}, status_code=status,
                    headers={"Content-Type": "application/json"})


def from_exception(exc: Exception) -> Response:
    if isinstance(exc, ServiceError):
        if exc.status >= 500:
            log.error("service error: %s", exc.message)
        return error_response(exc.status, exc.message, **exc.extra)
    if isinstance(exc, ConfigError):
        log.error("configuration error: %s", exc)
        return error_response(500, "service misconfigured")
    log.exception("unhandled error")
    return error_response(500, "internal server error")


def normalized(response: Response) -> Response:
    """Chalice answers some errors itself ({"Code", "Message"}: 405, 415, 500): give them our shape."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Message" in body and "error" not in body:
        message = "internal server error" if response.status_code >= 500 else str(body["Message"])
        return error_response(response.status_code, message)
    return response


def guarded(handler: Callable[[], Response]) -> Response:
    try:
        return normalized(handler())
    except Exception as exc:  # the one place every failure is mapped to HTTP
        return from_exception(exc)


def at_boundary(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view whose exceptions become their answers here, at the API's boundary.

    Chalice lets only its own `ChaliceUnhandledError` leave a view for the middleware; any other exception it
    turns into its own 500 there, and the middleware never sees what it was. Domain errors are plain exceptions
    (the domain and the store do not import Chalice), so every view is wrapped (http.ServiceApp) and maps them
    itself. Chalice's own errors still go to Chalice, which answers them with their status (then `normalized`).
    """

    @functools.wraps(view)
    def answered(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ChaliceError:
            raise
        except Exception as exc:
            return from_exception(exc)

    answered.at_boundary = True  # type: ignore[attr-defined]  # what tests/unit/test_error_mapping.py checks
    return answered

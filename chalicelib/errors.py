"""Domain errors: plain exceptions the domain and the store raise. Nothing here knows about HTTP frameworks; the
API layer maps each to its HTTP status in one place (chalicelib/api/errors.py), using `status`."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PayloadTooLarge(ServiceError):
    status = 413


class UnsupportedMediaType(ServiceError):
    status = 415


class TooManyRequests(ServiceError):
    """A quota refuses the request until it resets (maxUserBytesPerDay)."""

    status = 429


class Unavailable(ServiceError):
    """AWS throttled or failed in a way the client may retry."""

    status = 503

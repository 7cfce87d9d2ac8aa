"""Token -> Caller. HS256 JWTs from `Authorization: Bearer` or the `gatwy_token` cookie."""

from __future__ import annotations

import math
from typing import Any, Mapping

from chalicelib.api import params
from chalicelib.domain.access import Caller
from chalicelib.errors import BadRequest, Unauthorized
from chalicelib.settings import Settings

COOKIE_NAME = "gatwy_token"
TIME_CLAIMS = ("exp", "nbf", "iat")


def cookie_value(header: str, name: str) -> str | None:
    """The first cookie called `name` in a Cookie header, read as browsers send it: `;`-separated `name=value`
    pairs, taken verbatim (http.cookies drops the whole header at the first value it would not write itself, such
    as `theme=dark mode`, `consent={"necessary":true}`, a backslash or a non-ASCII character). The viewer reads
    document.cookie the same way (viewer/api.js readToken), so both take the first of two."""
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value or None
    return None


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        return token.strip()
    return cookie_token(headers)


def cookie_token(headers: Mapping[str, str]) -> str | None:
    cookie_header = headers.get("cookie")
    return cookie_value(cookie_header, COOKIE_NAME) if cookie_header else None


def _claim_id(claims: Mapping[str, Any]) -> str:
    raw = claims.get("userId", claims.get("sub"))
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or str(raw) == "":
        raise Unauthorized("token has no userId")
    try:
        # the id keys the caller's sessions: one DynamoDB would refuse (over 128 characters...) must not get this far
        return params.valid_id(str(raw), "userId")
    except BadRequest as exc:
        raise Unauthorized("token userId must be 1 to 128 letters, digits, '-', '_' or '.'") from exc


def _decoded(token: str, settings: Settings) -> dict[str, Any]:
    import jwt  # imported on first use: keeps the app's import (the cold start) light

    required = ["exp", *(["aud"] if settings.jwt_audience else []), *(["iss"] if settings.jwt_issuer else [])]
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], leeway=settings.jwt_leeway_seconds,
            audience=settings.jwt_audience, issuer=settings.jwt_issuer,
            # an audience is checked only where one is configured (PyJWT would refuse every token carrying one)
            options={"require": required, "verify_aud": settings.jwt_audience is not None},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    for name in TIME_CLAIMS:  # PyJWT reads them with int(), so "exp": "9999999999" would pass it
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, (int, float))
                               or not math.isfinite(value)):
            raise Unauthorized(f"token {name} must be a number")
    return claims


def caller_from_token(token: str, settings: Settings) -> Caller:
    claims = _decoded(token, settings)
    username = claims.get("username", "")
    role = claims.get("role", "")
    if not isinstance(username, str) or not isinstance(role, str):
        raise Unauthorized("invalid token claims")
    granted = claims.get("permissions")
    if granted is None:
        permissions = settings.role_permissions.get(role, frozenset())
    elif isinstance(granted, list) and all(isinstance(p, str) for p in granted):
        permissions = frozenset(granted)
    else:
        raise Unauthorized("token permissions must be a list of strings")
    # the username is stored with what the caller writes: a lone surrogate in it would fail every write
    return Caller(user_id=_claim_id(claims), username=params.without_lone_surrogates(username), role=role,
                  permissions=frozenset(permissions))


def authenticate(headers: Mapping[str, str], settings: Settings) -> Caller:
    token = token_from_headers(headers)
    if token is None:
        raise Unauthorized("authentication required")
    return caller_from_token(token, settings)

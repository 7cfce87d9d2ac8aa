"""Token -> Caller. HS256 JWTs from `Authorization: Bearer` or the `gatwy_token` cookie."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any, Mapping

from chalicelib.domain.access import Caller
from chalicelib.errors import Unauthorized
from chalicelib.settings import Settings

COOKIE_NAME = "gatwy_token"


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        return token.strip()
    cookie_header = headers.get("cookie")
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except CookieError:
            return None
        morsel = jar.get(COOKIE_NAME)
        if morsel is not None and morsel.value:
            return morsel.value
    return None


def _claim_id(claims: Mapping[str, Any]) -> str:
    raw = claims.get("userId", claims.get("sub"))
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or str(raw) == "":
        raise Unauthorized("token has no userId")
    return str(raw)


def caller_from_token(token: str, settings: Settings) -> Caller:
    import jwt  # imported on first use: keeps the app's import (the cold start) light

    try:
        claims = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], options={"require": ["exp"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
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
    return Caller(user_id=_claim_id(claims), username=username, role=role, permissions=frozenset(permissions))


def authenticate(headers: Mapping[str, str], settings: Settings) -> Caller:
    token = token_from_headers(headers)
    if token is None:
        raise Unauthorized("authentication required")
    return caller_from_token(token, settings)

"""Opaque pagination cursors: a DynamoDB LastEvaluatedKey, bound to the list it came from and signed,
so a client can neither forge a key nor replay a cursor of one list against another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import BadRequest

_MAX_CURSOR = 2048


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"session-audit cursor\x00" + secret.encode()).digest()


def _mac(secret: str, scope: str, payload: bytes) -> bytes:
    return hmac.new(_key(secret), scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]


def encode(start_key: dict[str, Any] | None, scope: str, secret: str) -> str | None:
    if start_key is None:
        return None
    payload = json.dumps(start_key, separators=(",", ":"), sort_keys=True).encode()
    token = _mac(secret, scope, payload) + payload
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode(cursor: str | None, scope: str, secret: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    invalid = BadRequest("invalid cursor")
    if len(cursor) > _MAX_CURSOR:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    mac, payload = raw[:16], raw[16:]
    if len(mac) != 16 or not hmac.compare_digest(mac, _mac(secret, scope, payload)):
        raise invalid
    key = json.loads(payload)
    if not isinstance(key, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items()):
        raise invalid
    return key

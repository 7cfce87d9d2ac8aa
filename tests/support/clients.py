"""Tokens and the Chalice test client's JSON helper, and the names the in-process tests share."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-" + "x" * 32
TABLE = "session-audit-test"
BUCKET = "session-audit-test"
ADMIN_PERMISSIONS = ["sessions.view_own", "sessions.view_any", "sessions.delete", "sessions.ingest",
                     "settings.manage"]


def make_token(user_id: str = "alice", role: str = "user", secret: str = SECRET, **claims: Any) -> str:
    # a day: modules make their tokens at import, and a slow suite must not outlive them
    body = {"userId": user_id, "username": user_id, "role": role, "exp": int(time.time()) + 86400, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


class Api:
    """The Chalice test client with JSON helpers."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, method: str, path: str, token: str | None = None, body: Any = None,
             content_type: str | None = "application/json", headers: dict[str, str] | None = None) -> Any:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if content_type is not None:
            sent["Content-Type"] = content_type
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        response = getattr(self.client.http, method.lower())(path, headers=sent, body=body or b"")
        response.json = json.loads(response.body) if response.body and response.headers.get(
            "Content-Type", "").startswith("application/json") else None
        return response

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.call("GET", path, token, **kw)

    def post(self, path: str, token: str | None = None, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, token, body, **kw)

    def put(self, path: str, token: str | None = None, body: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, token, body, **kw)

    def delete(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.call("DELETE", path, token, **kw)

"""Shared fixtures: tokens, moto in process, the Chalice test client.

Tests build their table and bucket from infra/resources.yaml (chalicelib/store/schema.py), as the deploy does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from moto import mock_aws

from chalicelib import aws, container
from chalicelib.settings import get_settings
from chalicelib.store import schema
from scripts import moto_speedups

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-secret-" + "x" * 32
TABLE = "session-audit-test"
BUCKET = "session-audit-test"
ADMIN_PERMISSIONS = ["sessions.view_own", "sessions.view_any", "sessions.delete", "sessions.ingest",
                     "settings.manage"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT).parts
        if "http" in parts:
            item.add_marker(pytest.mark.http)
        if "browser" in parts:
            item.add_marker(pytest.mark.browser)


def make_token(user_id: str = "alice", role: str = "user", secret: str = SECRET, **claims: Any) -> str:
    body = {"userId": user_id, "username": user_id, "role": role, "exp": int(time.time()) + 3600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


def auth(token: str, content_type: str | None = "application/json") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Chalice's test client swaps os.environ for a dict copy around each request and back; requests made from
    # several threads at once can leave the copy in place, so the real mapping is put back after every test.
    real_environ = os.environ
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("ROLE_PERMISSIONS", raising=False)
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": TABLE,
        "BUCKET_NAME": BUCKET,
        "JWT_SECRET": SECRET,
        "FINALIZE_GRACE_SECONDS": "0.2",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    aws.reset()
    container.use(None)
    yield
    os.environ = real_environ  # noqa: B003  (the object itself is put back, not its contents)
    get_settings.cache_clear()
    aws.reset()
    container.use(None)


@pytest.fixture
def moto(env: None) -> Iterator[None]:
    """moto in process, with the table and bucket of infra/resources.yaml (and without its whole-table costs:
    scripts/moto_speedups.py)."""
    moto_speedups.install()
    with mock_aws():
        session = aws.session()
        schema.ensure(session.client("dynamodb"), session.client("s3"), TABLE, BUCKET, ("http://127.0.0.1:8000",))
        yield


@pytest.fixture
def table(moto: None) -> Any:
    return aws.session().resource("dynamodb").Table(TABLE)


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


@pytest.fixture
def client(moto: None) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local", project_dir=str(ROOT)) as chalice_client:
        yield chalice_client


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def admin() -> str:
    return make_token("admin", role="admin")


@pytest.fixture
def recording_on(api: Api, admin: str) -> None:
    assert api.put("/settings/recording", admin, {"enabled": True}).status_code == 200


TokenFactory = Callable[..., str]

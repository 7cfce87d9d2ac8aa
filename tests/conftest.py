"""Shared fixtures: moto in process, the Chalice test client, an admin's token (helpers: tests/support/clients.py).

Tests build their table and bucket from infra/resources.yaml (chalicelib/store/schema.py), as the deploy does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from chalicelib import aws, container
from chalicelib.settings import get_settings
from chalicelib.store import schema
from scripts import moto_speedups
from tests.support.clients import BUCKET, ROOT, SECRET, TABLE, Api, make_token


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT).parts
        if "http" in parts:
            item.add_marker(pytest.mark.http)
        if "browser" in parts:
            item.add_marker(pytest.mark.browser)


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

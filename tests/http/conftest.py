"""The HTTP tests' local stack, started once per test session (tests/support/stack.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    extra = {}
    if os.environ.get("HTTP_SUITE_S3_ENDPOINT"):  # `make http-localstack` (scripts/localstack_s3.py)
        extra = {"AWS_ENDPOINT_URL_S3": os.environ["HTTP_SUITE_S3_ENDPOINT"], "AWS_ACCESS_KEY_ID": "test",
                 "AWS_SECRET_ACCESS_KEY": "test"}  # LocalStack checks presigned URLs against the secret `test`
    with running_stack(**extra) as started:
        yield started

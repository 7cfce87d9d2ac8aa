"""The HTTP tests' local stack, started once per test session (tests/support/stack.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running_stack() as started:
        yield started

"""The authorization matrix (tests/support/authorization_matrix.py): every route x every kind of caller -> the
status (and exposure) it must get, and every route has its row."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app import app
from chalicelib import container
from chalicelib.settings import get_settings
from tests.support import hostile
from tests.support.authorization_matrix import ROWS, TOKENS, world_maker
from tests.support.hostile import CALLERS


def test_every_route_has_a_row():
    assert hostile.routes_without_rows(app, ROWS) == set(), "add a row to ROWS for each new route"


def test_every_row_is_a_route_and_appears_once():
    served = {(path, method) for path, methods in app.routes.items() for method in methods}
    labels = [row.label for row in ROWS]
    assert len(labels) == len(set(labels)), "a route's second row needs its own `case`"
    assert {row.route for row in ROWS} <= served, "a row for a route that no longer exists"


def test_every_row_names_every_caller():
    assert hostile.matrix_problems(ROWS) == []


@pytest.fixture
def quick_finalize(api: Any) -> None:
    """The app's services with a short finalize grace: recording rows finalize in most cells, and the grace of
    .chalice/config.json (3 s, which the test client applies over the environment) would cost a second each."""
    container.use(container.build(replace(get_settings(), finalize_grace_seconds=0.05)))


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.label)
def test_matrix(api, recording_on, quick_finalize, row):
    verdicts = hostile.run_matrix(api, [row], TOKENS, world_maker(api))
    assert len(verdicts) == len(CALLERS)
    assert hostile.matrix_failures(verdicts) == []

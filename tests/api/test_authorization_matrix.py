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
from tests.support.authorization_matrix import (
    ADMIN,
    ROWS,
    TOKENS,
    World,
    file_session_created_for_owner,
    finalized_owners_recording,
    stored_chunk,
    stored_command,
    stored_file_event,
    stored_input_event,
    world_maker,
)
from tests.support.clients import ROOT
from tests.support.hostile import CALLERS, Row


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


# The edge's rules on every state-changing row (issue 15): a change that carries only the cookie and comes from
# another site is a 403 that writes nothing, while from this site the cookie gets what the bearer token gets; and a
# JSON body without its Content-Type is a 415 that writes nothing. Each is checked as the first caller the row lets
# through, so a refusal cannot be a missing permission.
def allowed(row: Row) -> list[str]:
    return [c for c in CALLERS if 200 <= hostile.expected(row.expect[c]).status < 300]


def first_allowed(row: Row) -> str:
    return allowed(row)[0]


# (a row that lets no caller through, such as an append to a held session, has no request to forge)
CHANGE_ROWS = [row for row in ROWS if row.method in ("POST", "PUT", "DELETE", "PATCH") and allowed(row)]
CROSS_SITE = [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://elsewhere.example"}]


def nothing_written(row: Row, response: Any, world: World) -> bool:
    """After a refused change: the probes that look at the world (not at the answer) find nothing new."""
    if row.reveals is file_session_created_for_owner:  # the refused first batch must not have created it
        return world.api.get(f"/file-sessions/{world.file_session_id}/events", ADMIN).status_code == 404
    if row.reveals in (stored_command, stored_input_event, stored_file_event, stored_chunk):
        return not row.reveals(response, world)
    if row.reveals is finalized_owners_recording:
        return world.recording_state() == "recording"
    return True  # the answer alone told (created_for_owner): a 403 carries no session id


@pytest.mark.parametrize("row", CHANGE_ROWS, ids=lambda row: row.label)
def test_matrix_cross_site_cookie_changes_are_403(api, recording_on, quick_finalize, row):
    caller = first_allowed(row)
    want = hostile.expected(row.expect[caller])
    for where in [*CROSS_SITE, {"Sec-Fetch-Site": "same-origin"}]:
        world = world_maker(api)()
        call = row.build(world)
        cookie = {"Cookie": f"theme=dark mode; gatwy_token={TOKENS[caller]}", **where}
        response = api.call(call.method, call.path, None, call.body, content_type=call.content_type, headers=cookie)
        assert hostile.error_problems(response.status_code, response.headers.get("Content-Type"),
                                      response.body or b"") == []
        if where in CROSS_SITE:
            assert response.status_code == 403, (caller, where, response.body)
            assert nothing_written(row, response, world), (caller, where)
            continue
        assert response.status_code == want.status, (caller, where, response.body)  # the cookie works from here
        if want.reveals is not None and row.reveals is not None:
            assert row.reveals(response, world) == want.reveals, (caller, where)


JSON_ROUTES = {(op.path, op.method) for op in hostile.operations(hostile.load_document(ROOT / "docs" / "openapi.yaml"))
               if op.takes_json}


@pytest.mark.parametrize("row", [r for r in CHANGE_ROWS if r.route in JSON_ROUTES], ids=lambda row: row.label)
def test_matrix_json_bodies_need_their_content_type(api, recording_on, quick_finalize, row):
    world = world_maker(api)()
    call = row.build(world)
    caller = first_allowed(row)
    response = api.call(call.method, call.path, TOKENS[caller], call.body, content_type=None)
    assert response.status_code == 415, response.body
    assert nothing_written(row, response, world)

"""The authorization matrix: every route x every kind of caller -> the status (and exposure) it must get.

ROWS is the one table. Each row says how to build a valid request for its route (aimed at a session owned by
"owner") and what each caller must get. A route in app.routes without a row fails
test_every_route_has_a_row, so no route ships without its row. How to add one: docs/testing.md.

Callers: no token, a token signed with another key, the owner (role user), another user, and one token per
permission (sessions.view_any, sessions.delete, settings.manage, sessions.ingest), each holding only that one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app import app
from tests import hostile
from tests.conftest import SECRET, make_token
from tests.hostile import CALLERS, Call, Expect, Row

OWNER = "owner"
TOKENS: dict[str, str | None] = {
    "none": None,
    "bad": make_token(OWNER, secret="another-secret-" + "z" * 32),
    "owner": make_token(OWNER),
    "other": make_token("mallory"),
    "view_any": make_token("auditor", role="auditor", permissions=["sessions.view_any"]),
    "delete": make_token("deleter", role="deleter", permissions=["sessions.delete"]),
    "manage": make_token("manager", role="manager", permissions=["settings.manage"]),
    "ingest": make_token("gateway", role="service", permissions=["sessions.ingest"]),
}
ADMIN = make_token("matrix-admin", role="admin")
assert set(TOKENS) == set(CALLERS)
assert SECRET not in str(TOKENS["bad"])

SEES = Expect(200, reveals=True)
BLIND = Expect(200, reveals=False)


def expect(authenticated: Expect | int, **cells: Expect | int) -> dict[str, Expect | int]:
    """401 for no token and a bad token, `authenticated` for every other caller, except the ones named."""
    table: dict[str, Expect | int] = {"none": 401, "bad": 401}
    table.update({caller: authenticated for caller in CALLERS if caller not in table})
    table.update(cells)
    return table


@dataclass
class World:
    """What one cell acts on: a fresh session owned by OWNER, a connection, and an admin's eyes to check with."""

    api: Any
    session_id: str
    connection_id: str = "conn-matrix"

    def owner_of(self, session_id: str | None) -> str | None:
        if session_id is None:
            return None
        return self.api.get(f"/sessions/{session_id}", ADMIN).json["userId"]


def lists_owners_session(response: Any, world: World) -> bool:
    return world.session_id in [s["id"] for s in response.json["sessions"]]


def created_for_owner(response: Any, world: World) -> bool:
    """A start body names userId OWNER: only the owner and an ingest token may end up with OWNER's session."""
    return world.owner_of(response.json["sessionId"]) == OWNER


START_BODY = {"protocol": "ssh", "connectionId": "conn-matrix", "userId": OWNER, "username": OWNER}

ROWS: list[Row] = [
    Row("GET", "/openapi.yaml", lambda w: Call("GET", "/openapi.yaml", content_type=None),
        expect(200, none=200, bad=200), note="public: the API document"),
    Row("GET", "/sessions", lambda w: Call("GET", "/sessions"),
        expect(BLIND, owner=SEES, view_any=SEES), reveals=lists_owners_session),
    Row("POST", "/sessions", lambda w: Call("POST", "/sessions", START_BODY),
        expect(BLIND, owner=SEES, ingest=SEES), reveals=created_for_owner,
        note="anyone may start their own session; only ingest may start one on someone's behalf"),
    Row("POST", "/sessions/rdp-session", lambda w: Call("POST", "/sessions/rdp-session", START_BODY),
        expect(BLIND, owner=SEES, ingest=SEES), reveals=created_for_owner),
    Row("GET", "/sessions/{session_id}", lambda w: Call("GET", f"/sessions/{w.session_id}"),
        expect(404, owner=200, view_any=200), note="404, not 403: never reveal that a session exists"),
    Row("GET", "/settings/recording", lambda w: Call("GET", "/settings/recording"),
        expect(403, manage=200)),
    Row("PUT", "/settings/recording", lambda w: Call("PUT", "/settings/recording", {"enabled": True}),
        expect(403, manage=200)),
    Row("PUT", "/connections/{connection_id}",
        lambda w: Call("PUT", f"/connections/{w.connection_id}", {"name": "matrix", "recordingEnabled": True}),
        expect(403, manage=200)),
]


def owners_file_session(w: World) -> str:
    """A file session owned by OWNER, made for the cell (the world holds a session only)."""
    file_id = f"fs-{w.session_id}"
    body = {"protocol": "sftp", "connectionId": w.connection_id, "userId": OWNER, "username": OWNER,
            "events": [{"action": "upload", "path": "/tmp/x"}]}
    assert w.api.post(f"/file-sessions/{file_id}/events", ADMIN, body).status_code == 200
    return file_id


# purge, deletes and holds (docs/purge-retention.md): sessions.delete alone decides; ownership gives nothing
PURGE_ROWS: list[Row] = [
    Row("DELETE", "/sessions", lambda w: Call("DELETE", "/sessions", content_type=None),
        expect(403, delete=200), note="purges everything: only sessions.delete"),
    Row("DELETE", "/sessions/{session_id}", lambda w: Call("DELETE", f"/sessions/{w.session_id}", content_type=None),
        expect(403, delete=200)),
    Row("PUT", "/sessions/{session_id}/hold",
        lambda w: Call("PUT", f"/sessions/{w.session_id}/hold", content_type=None), expect(403, delete=200)),
    Row("DELETE", "/sessions/{session_id}/hold",
        lambda w: Call("DELETE", f"/sessions/{w.session_id}/hold", content_type=None), expect(403, delete=200)),
    Row("DELETE", "/file-sessions/{session_id}",
        lambda w: Call("DELETE", f"/file-sessions/{owners_file_session(w)}", content_type=None),
        expect(403, delete=200)),
    Row("GET", "/access-log", lambda w: Call("GET", "/access-log", content_type=None), expect(403, manage=200)),
]
ROWS.extend(PURGE_ROWS)


def world_maker(api: Any):
    """Each call: a new session owned by OWNER (started by an ingest token on the owner's behalf)."""

    def make() -> World:
        started = api.post("/sessions", ADMIN, START_BODY)
        assert started.status_code == 200 and started.json["sessionId"], started.body
        return World(api, started.json["sessionId"])

    return make


def test_every_route_has_a_row():
    assert hostile.routes_without_rows(app, ROWS) == set(), "add a row to ROWS for each new route"


def test_every_row_is_a_route_and_appears_once():
    served = {(path, method) for path, methods in app.routes.items() for method in methods}
    routes = [row.route for row in ROWS]
    assert len(routes) == len(set(routes))
    assert set(routes) <= served, "a row for a route that no longer exists"


def test_every_row_names_every_caller():
    assert hostile.matrix_problems(ROWS) == []


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.path}")
def test_matrix(api, recording_on, row):
    verdicts = hostile.run_matrix(api, [row], TOKENS, world_maker(api))
    assert len(verdicts) == len(CALLERS)
    assert hostile.matrix_failures(verdicts) == []

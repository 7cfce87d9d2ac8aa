"""/sessions, /sessions/rdp-session, /sessions/{id}: shapes, ownership, paging, bad input."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import container
from chalicelib.model.clock import Clock
from chalicelib.settings import get_settings
from chalicelib.store.counters import Counters
from tests.support.clients import make_token
from tests.support.sessions import start_session

INGEST = make_token("gateway", role="service", permissions=["sessions.ingest"])
AUDITOR = make_token("auditor", role="auditor", permissions=["sessions.view_any"])


def ids(response):
    assert response.status_code == 200, response.body
    return [s["id"] for s in response.json["sessions"]]


@pytest.fixture
def ticking_clock(table):
    """Sessions one minute apart, starting 2024-01-01, so ordering and time filters are exact."""
    moments = (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in itertools.count())
    container.use(container.build(get_settings(), table=table,
                                  clock=Clock(lambda: next(moments).timestamp())))


def test_recording_is_off_until_enabled(api):
    alice = make_token("alice")
    response = api.post("/sessions/rdp-session", alice, {"connectionId": "c1"})
    assert response.status_code == 200
    assert response.json == {"sessionId": None, "shouldRecord": False}
    assert api.get("/sessions", alice).json["sessions"] == []


def test_rdp_session_is_created_as_the_caller_in_the_contract_shape(api, recording_on):
    alice = make_token("alice")
    response = api.post("/sessions/rdp-session", alice, {"connectionId": "c1", "userId": "mallory"})
    assert response.json["shouldRecord"] is True
    session_id = response.json["sessionId"]
    listed = api.get("/sessions", alice).json
    assert listed["page"] == 1 and listed["limit"] == 25 and listed["nextCursor"] is None
    (row,) = listed["sessions"]
    assert row["id"] == session_id
    assert row["userId"] == "alice"  # a userId in the body is ignored for a non-ingest caller
    assert row["protocol"] == "rdp"
    assert row["connectionName"] == "c1"
    assert row["hasRecording"] is False and row["fileSize"] == 0 and row["endedAt"] is None
    assert row["startedAt"].endswith("Z") and len(row["startedAt"]) == 24
    assert api.get(f"/sessions/{session_id}", alice).json == row


def test_ingest_token_creates_on_behalf_of_a_user_and_reads_nothing(api, recording_on):
    session_id = start_session(api, INGEST, "telnet", userId="bob", username="Bob B")
    bob = make_token("bob")
    (row,) = api.get("/sessions", bob).json["sessions"]
    assert (row["id"], row["userId"], row["username"], row["protocol"]) == (session_id, "bob", "Bob B", "telnet")
    assert api.get("/sessions", INGEST).json["sessions"] == []
    assert api.get(f"/sessions/{session_id}", INGEST).status_code == 404


def test_owners_see_their_own_view_any_sees_all(api, recording_on):
    mine = start_session(api, make_token("alice"))
    theirs = start_session(api, make_token("bob"))
    assert ids(api.get("/sessions", make_token("alice"))) == [mine]
    assert set(ids(api.get("/sessions", AUDITOR))) == {mine, theirs}
    assert ids(api.get("/sessions?userId=bob", AUDITOR)) == [theirs]
    # a filter never widens: alice asking for bob's gets an empty list, not hers
    assert ids(api.get("/sessions?userId=bob", make_token("alice"))) == []
    assert ids(api.get("/sessions?userId=alice", make_token("alice"))) == [mine]


def test_another_users_session_is_404_like_a_missing_one(api, recording_on):
    theirs = start_session(api, make_token("bob"))
    alice = make_token("alice")
    hidden = api.get(f"/sessions/{theirs}", alice)
    missing = api.get("/sessions/sess_does_not_exist", alice)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json == {"error": "session not found"}
    assert api.get(f"/sessions/{theirs}", AUDITOR).status_code == 200


def test_connection_switch_and_name(api, admin, recording_on):
    assert api.put("/connections/web-1", admin, {"name": "Web Server"}).json == {
        "id": "web-1", "name": "Web Server", "recordingEnabled": True}
    session_id = start_session(api, admin, connection_id="web-1")
    assert api.get(f"/sessions/{session_id}", admin).json["connectionName"] == "Web Server"
    assert api.put("/connections/web-1", admin, {"recordingEnabled": False}).json["recordingEnabled"] is False
    assert api.post("/sessions", admin, {"protocol": "ssh", "connectionId": "web-1"}).json == {
        "sessionId": None, "shouldRecord": False}
    # an unknown connection follows the global switch
    assert start_session(api, admin, connection_id="never-registered")


def test_totals_count_created_sessions(api, recording_on, table):
    for user in ("a", "b", "c"):
        start_session(api, make_token(user))
    assert Counters(table).generation(0)["sessions"] == 3  # counted in the purge generation


def test_newest_first_with_pages_and_cursor(api, admin, recording_on, ticking_clock):
    created = [start_session(api, admin) for _ in range(7)]
    newest_first = created[::-1]
    assert ids(api.get("/sessions?limit=3", admin)) == newest_first[:3]
    assert ids(api.get("/sessions?limit=3&page=2", admin)) == newest_first[3:6]
    assert ids(api.get("/sessions?limit=3&page=3", admin)) == newest_first[6:]
    assert ids(api.get("/sessions?limit=3&page=4", admin)) == []
    walked, cursor = [], None
    while True:
        page = api.get("/sessions?limit=3" + (f"&cursor={cursor}" if cursor else ""), admin).json
        walked += [s["id"] for s in page["sessions"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert walked == newest_first
    # exactly on the boundary, the last page says so
    assert api.get("/sessions?limit=7", admin).json["nextCursor"] is None


def test_filters_by_protocol_and_time(api, admin, recording_on, ticking_clock):
    ssh = start_session(api, admin, "ssh")  # 00:00
    rdp = start_session(api, admin, "rdp")  # 00:01
    vnc = start_session(api, admin, "vnc")  # 00:02
    assert ids(api.get("/sessions?protocol=rdp", admin)) == [rdp]
    assert ids(api.get("/sessions?from=2024-01-01T00:01:00Z", admin)) == [vnc, rdp]
    assert ids(api.get("/sessions?to=2024-01-01T00:01:00Z", admin)) == [rdp, ssh]
    assert ids(api.get("/sessions?from=2024-01-01T00:00:30Z&to=2024-01-01T00:01:30Z", admin)) == [rdp]
    assert ids(api.get("/sessions?userId=admin&protocol=vnc", admin)) == [vnc]


def test_a_cursor_only_works_for_the_list_it_came_from(api, admin, recording_on):
    for _ in range(3):
        start_session(api, admin)
    cursor = api.get("/sessions?limit=1", admin).json["nextCursor"]
    assert api.get(f"/sessions?limit=1&protocol=rdp&cursor={cursor}", admin).status_code == 400
    assert api.get(f"/sessions?limit=1&cursor={cursor}", make_token("alice")).status_code == 400


@pytest.mark.parametrize("query", ["page=0", "page=-1", "limit=0", "limit=2001", "limit=abc", "page=1.5",
                                   "cursor=nonsense", "protocol=gopher", "from=yesterday", "userId=a%2Fb"])
def test_bad_query_values_are_400(api, admin, query):
    response = api.get(f"/sessions?{query}", admin)
    assert response.status_code == 400
    assert isinstance(response.json["error"], str)


@pytest.mark.parametrize("body", [{"protocol": "gopher", "connectionId": "c"}, {"protocol": "ssh"},
                                  {"protocol": "ssh", "connectionId": "a/b"}, {"protocol": "ssh",
                                  "connectionId": ""}, [], "x", {"protocol": "ssh", "connectionId": "c",
                                  "userId": "a b"}])
def test_bad_start_bodies_are_400(api, admin, recording_on, body):
    assert api.post("/sessions", INGEST if isinstance(body, dict) and "userId" in body else admin,
                    body).status_code == 400


def test_non_json_bodies(api, admin, recording_on):
    assert api.post("/sessions", admin, "{not json").status_code == 400
    assert api.post("/sessions", admin, b"\xff\xfe\x00", content_type="application/json").status_code == 400
    response = api.post("/sessions", admin, "protocol=ssh", content_type="text/plain")
    assert response.status_code == 415
    assert "error" in response.json


@pytest.mark.parametrize("method,path", [("GET", "/sessions"), ("POST", "/sessions"),
                                         ("POST", "/sessions/rdp-session"), ("GET", "/sessions/sess_x")])
def test_routes_need_a_token(api, method, path):
    response = api.call(method, path, None, {"protocol": "ssh", "connectionId": "c"})
    assert response.status_code == 401
    assert response.json == {"error": "authentication required"}
    expired = make_token("alice", exp=1)
    assert api.call(method, path, expired, {"connectionId": "c"}).json == {"error": "token expired"}


def test_invalid_session_id_is_400(api, admin):
    assert api.get("/sessions/a..b%20c", admin).status_code == 400

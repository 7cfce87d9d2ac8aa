"""/sessions, /sessions/rdp-session, /sessions/{id}: shapes, ownership, paging, bad input."""

from __future__ import annotations

from tests.conftest import make_token


def start(api, token, protocol="ssh", connection="conn-1", **extra):
    response = api.post("/sessions", token, {"protocol": protocol, "connectionId": connection, **extra})
    assert response.status_code == 200, response.body
    return response.json["sessionId"]


def test_recording_is_off_until_enabled(api):
    alice = make_token("alice")
    response = api.post("/sessions/rdp-session", alice, {"connectionId": "c1"})
    assert response.status_code == 200
    assert response.json == {"sessionId": None, "shouldRecord": False}
    assert api.get("/sessions", alice).json["sessions"] == []


def test_rdp_session_is_created_as_the_caller_and_listed_in_the_contract_shape(api, recording_on):
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


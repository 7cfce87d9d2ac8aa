"""Back-filled history: the ingest token gives `startedAt` / `endedAt` when it creates a session, an RDP session or
a file session (an importer, the demo); nobody else may, and the lists and retention go by the given start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.store import keys
from tests.support.clients import make_token
from tests.support.rig import ADMIN, ALICE, Rig, objects, pattern

DAY = 86_400
AUDITOR = make_token("auditor", permissions=["sessions.view_any"])


def at(rig: Rig, seconds_ago: float) -> datetime:
    return datetime.fromtimestamp(rig.clock() - seconds_ago, UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def start(rig: Rig, token: str = ADMIN, path: str = "/sessions", **fields: Any) -> Any:
    body = {"connectionId": "c1", "userId": "bob", "username": "bob", **fields}
    if path == "/sessions":
        body.setdefault("protocol", "ssh")
    return rig.api.post(path, token, body)


def listed(rig: Rig, **query: str) -> list[str]:
    text = "&".join(f"{name}={value}" for name, value in query.items())
    return [s["id"] for s in rig.api.get(f"/sessions?{text}", ADMIN).json["sessions"]]


def test_given_times_date_the_session_its_list_place_and_survive_finalize(rig):
    started, ended = at(rig, 3 * DAY), at(rig, 3 * DAY - 5400)  # an hour and a half, three days ago
    now = rig.start("ssh")  # a session of today
    old = start(rig, startedAt=iso(started), endedAt=iso(ended)).json["sessionId"]
    # the gateway's own form is taken too; the RDP route as well
    rdp = start(rig, path="/sessions/rdp-session", startedAt=(started - timedelta(hours=1)).strftime(
        "%Y-%m-%d %H:%M:%S"), endedAt=(started - timedelta(minutes=50)).strftime("%Y-%m-%d %H:%M:%S")).json[
        "sessionId"]
    assert (rig.session(old)["startedAt"], rig.session(old)["endedAt"]) == (iso(started), iso(ended))
    assert rig.session(rdp)["protocol"] == "rdp"
    assert rig.session(rdp)["startedAt"] == iso((started - timedelta(hours=1)).replace(microsecond=0))
    # newest first by startedAt, in every list index (all, by user, by protocol) and its time filters
    assert listed(rig) == [now, old, rdp]
    assert listed(rig, userId="bob") == [old, rdp]
    assert listed(rig, protocol="ssh") == [now, old]
    assert listed(rig, to=iso(started)) == [old, rdp]
    assert listed(rig, **{"from": iso(started + timedelta(seconds=1))}) == [now]

    # the recording is uploaded afterwards; completion keeps the given end, not the time of the finalize
    assert rig.chunk(old, b'{"version": 2}\n[5399.5, "o", "logout"]\n', token=ADMIN,
                     content_type="application/x-asciicast").status_code == 200
    assert rig.finalize(old, token=ADMIN).json["recordingState"] == "complete"
    rig.settle()
    assert rig.session(old)["endedAt"] == iso(ended) and rig.session(old)["hasRecording"] is True
    retained = rig.table.get_item(Key={"PK": keys.session_pk(old), "SK": keys.RETAIN})["Item"]
    assert retained["GSI2SK"].startswith(iso(started) + "#")  # size and age retention order by the given start


def test_age_retention_goes_by_the_given_start(rig):
    old = start(rig, protocol="rdp", startedAt=iso(at(rig, 100 * DAY)), endedAt=iso(at(rig, 100 * DAY - 60))).json[
        "sessionId"]
    young = start(rig, protocol="rdp").json["sessionId"]
    for session_id in (old, young):
        assert rig.chunk(session_id, pattern(1000), token=ADMIN).status_code == 200
        assert rig.finalize(session_id, token=ADMIN).status_code == 200
    assert rig.api.put("/settings/recording", ADMIN, {"retentionDays": 90}).status_code == 200
    assert rig.retention_sweep()["recordingsByAge"] == 1
    assert [rig.session(s)["hasRecording"] for s in (old, young)] == [False, True]
    assert objects(rig) == [keys.recording_key(young, "webm")]


@pytest.mark.parametrize("token", [ALICE, AUDITOR], ids=["owner", "viewer"])
def test_only_the_ingest_token_may_give_times(rig, token):
    for path in ("/sessions", "/sessions/rdp-session"):
        for fields in ({"startedAt": iso(at(rig, 3600))}, {"endedAt": iso(at(rig, 0))}):
            response = start(rig, token, path, **fields)
            assert response.status_code == 403, response.body
            assert response.json == {"error": "only sessions.ingest may give startedAt or endedAt"}
    body = {"protocol": "sftp", "connectionId": "f1", "startedAt": iso(at(rig, 3600)),
            "events": [{"action": "browse", "path": "/", "timestamp": iso(at(rig, 60))}]}
    assert rig.api.post("/file-sessions/fs-forged/events", token, body).status_code == 403
    # nothing was stored
    assert listed(rig) == [] and rig.api.get("/file-sessions", ADMIN).json["sessions"] == []


@pytest.mark.parametrize("fields, error", [
    ({"startedAt": "+3600"}, "startedAt must be an ISO 8601 time"),
    ({"startedAt": 1700000000}, "startedAt must be an ISO 8601 time"),
    ({"endedAt": "2024-02-30 00:00:00"}, "endedAt must be an ISO 8601 time"),
    ({"startedAt": "future"}, "startedAt must not be in the future"),
    ({"endedAt": "future"}, "endedAt must not be in the future"),
    ({"startedAt": "-2h", "endedAt": "-3h"}, "endedAt must not be before startedAt"),
    ({"endedAt": "-1h"}, "endedAt must not be before startedAt"),  # no start given: it starts now
    ({"startedAt": "-366d"}, "startedAt must be within the audit retention (365 days)"),
])
def test_impossible_times_are_400_and_nothing_is_stored(rig, fields, error):
    offsets = {"future": -120, "-2h": 7200, "-3h": 10800, "-1h": 3600, "-366d": 366 * DAY}
    body = {name: iso(at(rig, offsets[value])) if value in offsets else value for name, value in fields.items()}
    response = start(rig, **body)
    assert response.status_code == 400, response.body
    assert response.json["error"].startswith(error)
    assert listed(rig) == []


def test_a_small_skew_ahead_of_the_clock_is_taken(rig):
    ahead = at(rig, -30)
    session_id = start(rig, startedAt=iso(ahead)).json["sessionId"]
    assert rig.session(session_id)["startedAt"] == iso(ahead)


def test_a_file_sessions_first_batch_dates_it_and_later_batches_move_its_end(rig):
    started, first_end = at(rig, 2 * DAY), at(rig, 2 * DAY - 1800)
    events = [{"action": "browse", "path": "/", "timestamp": iso(started + timedelta(minutes=1))},
              {"action": "download", "path": "/a", "timestamp": iso(started + timedelta(minutes=9))}]
    body = {"protocol": "smb", "connectionId": "f1", "userId": "carol", "username": "carol",
            "startedAt": iso(started), "endedAt": iso(first_end), "events": events}
    assert rig.api.post("/file-sessions/fs-old/events", ADMIN, body).status_code == 200
    session, = rig.api.get("/file-sessions", ADMIN).json["sessions"]
    assert (session["startedAt"], session["endedAt"], session["userId"]) == (iso(started), iso(first_end), "carol")

    later = at(rig, 2 * DAY - 3600)
    more = {"protocol": "smb", "connectionId": "f1", "userId": "carol",  # the gateway names the owner each batch
            "startedAt": iso(started + timedelta(minutes=5)), "endedAt": iso(later),
            "events": [{"action": "upload", "path": "/b", "timestamp": iso(later)}]}
    assert rig.api.post("/file-sessions/fs-old/events", ADMIN, more).status_code == 200
    session, = rig.api.get("/file-sessions", ADMIN).json["sessions"]
    # the start is the first batch's; the end moves on
    assert (session["startedAt"], session["endedAt"], session["eventCount"]) == (iso(started), iso(later), 3)


@pytest.mark.parametrize("change, error", [
    ({"startedAt": "+10m"}, "an event's timestamp is before startedAt"),
    ({"endedAt": "+5m"}, "an event's timestamp is after endedAt"),
    ({"endedAt": "+30m", "untimed": True}, "an event's timestamp is after endedAt"),  # dated on arrival: now
])
def test_a_back_filled_batch_whose_events_fall_outside_its_times_is_400(rig, change, error):
    started = at(rig, DAY)
    events: list[dict[str, Any]] = [{"action": "browse", "path": "/", "timestamp": iso(started + timedelta(minutes=7))}]
    if change.get("untimed"):
        events.append({"action": "browse", "path": "/x"})
    minutes = {"+10m": 10, "+5m": 5, "+30m": 30}
    body: dict[str, Any] = {"protocol": "sftp", "connectionId": "f1", "startedAt": iso(started), "events": events}
    body.update({name: iso(started + timedelta(minutes=minutes[value]))
                 for name, value in change.items() if name != "untimed"})
    response = rig.api.post("/file-sessions/fs-bad/events", ADMIN, body)
    assert response.status_code == 400 and response.json["error"].startswith(error), response.body
    assert rig.api.get("/file-sessions", ADMIN).json["sessions"] == []

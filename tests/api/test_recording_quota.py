"""maxUserBytesPerDay: a user's chunk bytes of a UTC day, counted in each chunk's commit; past the cap the chunk is
429, the session is marked, the refusal is in the access log once (docs/recordings.md)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.errors import TooManyRequests
from chalicelib.store import keys
from tests.support.clients import make_token
from tests.support.rig import ADMIN, ALICE, BOB, Rig, alice, pattern

DAY = 86_400
GATEWAY = make_token("gateway", role="service", permissions=["sessions.ingest"])
MANAGER = make_token("manager", permissions=["settings.manage"])


def cap(rig: Rig, value: int | None) -> None:
    assert rig.api.put("/settings/recording", ADMIN, {"maxUserBytesPerDay": value}).status_code == 200


def at_noon(rig: Rig) -> datetime:
    """Move the driven clock to the next UTC noon, so no test runs across a midnight it did not ask for."""
    now = datetime.fromtimestamp(rig.clock.now, UTC)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon <= now:
        noon += timedelta(days=1)
    rig.clock.now = noon.timestamp()
    return noon


def counted(rig: Rig, user_id: str, day: datetime) -> dict[str, Any] | None:
    item: dict[str, Any] | None = rig.table.get_item(
        Key={"PK": keys.user_bytes_pk(user_id), "SK": keys.day_sk(day.date().isoformat())}).get("Item")
    return item


def quota_entries(rig: Rig) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = rig.api.get("/access-log?limit=100", MANAGER).json["entries"]
    return [e for e in entries if e["action"] == "recording.quota"]


def test_a_chunk_past_the_daily_cap_is_429_the_session_marked_and_logged_once(rig):
    noon = at_noon(rig)
    cap(rig, 2500)
    session_id = rig.start()
    assert rig.chunk(session_id, pattern(1000, 0)).status_code == 200
    assert rig.chunk(session_id, pattern(1500, 1)).status_code == 200  # exactly at the cap: accepted
    before = rig.storage()
    refused = rig.chunk(session_id, pattern(1, 2))
    assert refused.status_code == 429
    assert set(refused.json) == {"error"} and "maxUserBytesPerDay" in refused.json["error"]
    assert rig.chunk(session_id, pattern(10, 3)).status_code == 429
    assert rig.storage() == before  # nothing refused is counted
    assert int(counted(rig, "alice", noon)["bytes"]) == 2500
    assert len(rig.staged(session_id)) == 2  # the refused chunks' staged objects are gone
    assert rig.session(session_id)["quotaExceeded"] is True
    assert rig.session(session_id, ALICE)["quotaExceeded"] is True
    listed = rig.api.get("/sessions", ADMIN).json["sessions"]
    assert [s.get("quotaExceeded") for s in listed if s["id"] == session_id] == [True]
    entries = quota_entries(rig)
    assert [(e["target"], e["userId"]) for e in entries] == [(f"sessions/{session_id}", "alice")]  # once
    # the recording keeps what was accepted, and finalizes as usual
    assert rig.finalize(session_id).json["recordingState"] == "complete"
    assert rig.object(session_id) == pattern(1000, 0) + pattern(1500, 1)
    # another user is not held back by alice's uploads; alice's other sessions are
    other = rig.start(token=BOB)
    assert rig.chunk(other, pattern(2000, 4), token=BOB).status_code == 200
    assert "quotaExceeded" not in rig.session(other)
    second = rig.start()
    assert rig.chunk(second, pattern(1, 5)).status_code == 429
    assert [e["target"] for e in quota_entries(rig)] == [f"sessions/{second}", f"sessions/{session_id}"]


def test_the_cap_starts_again_each_utc_day_and_its_counter_expires(rig):
    noon = at_noon(rig)
    cap(rig, 1000)
    session_id = rig.start()
    assert rig.chunk(session_id, pattern(1000, 0)).status_code == 200
    assert rig.chunk(session_id, pattern(1, 1)).status_code == 429
    item = counted(rig, "alice", noon)
    day_start = noon.replace(hour=0)
    assert int(item["expiresAt"]) == int((day_start + timedelta(days=3)).timestamp())  # 2 days after the day
    rig.clock.now = (day_start + timedelta(days=1)).timestamp()  # midnight UTC
    assert rig.chunk(session_id, pattern(1000, 2)).status_code == 200
    assert int(counted(rig, "alice", day_start + timedelta(days=1))["bytes"]) == 1000


def test_a_chunk_bigger_than_the_whole_cap_is_refused(rig):
    at_noon(rig)
    cap(rig, 500)
    session_id = rig.start()
    assert rig.chunk(session_id, pattern(501, 0)).status_code == 429
    assert rig.chunk(session_id, pattern(500, 1)).status_code == 200


def test_no_cap_counts_nothing_and_refuses_nothing(rig):
    noon = at_noon(rig)
    session_id = rig.start()
    assert rig.chunk(session_id, pattern(100_000, 0)).status_code == 200
    assert counted(rig, "alice", noon) is None
    cap(rig, 1000)  # counting starts with the cap (docs/recordings.md)
    assert rig.chunk(session_id, pattern(1000, 1)).status_code == 200
    assert rig.chunk(session_id, pattern(1, 2)).status_code == 429
    cap(rig, None)
    assert rig.chunk(session_id, pattern(5000, 3)).status_code == 200


def test_the_ingest_token_spends_the_owners_quota(rig):
    noon = at_noon(rig)
    cap(rig, 1500)
    session_id = rig.start("ssh")
    assert rig.chunk(session_id, b"x" * 1000, token=GATEWAY, content_type="application/x-asciicast").status_code == 200
    assert counted(rig, "alice", noon)["bytes"] == 1000 and counted(rig, "gateway", noon) is None
    mine = rig.start()
    assert rig.chunk(mine, pattern(600, 0)).status_code == 429  # alice's own upload: the same day's bytes
    refused = rig.chunk(session_id, b"y" * 600, token=GATEWAY, content_type="application/x-asciicast")
    assert refused.status_code == 429 and "alice" in refused.json["error"]
    assert {(e["target"], e["userId"]) for e in quota_entries(rig)} == {
        (f"sessions/{mine}", "alice"), (f"sessions/{session_id}", "gateway")}  # who sent the refused chunk


def test_an_idempotent_retry_at_the_cap_is_accepted_and_never_counted_twice(rig):
    noon = at_noon(rig)
    cap(rig, 1000)
    session_id = rig.start()
    body = pattern(1000, 0)
    assert rig.chunk(session_id, body, index=0).status_code == 200
    for _ in range(2):  # the client did not see the answer and sends it again: the quota is used up by it
        assert rig.chunk(session_id, body, index=0).status_code == 200
    assert int(counted(rig, "alice", noon)["bytes"]) == 1000
    assert rig.chunk(session_id, pattern(1000, 1), index=0).status_code == 409  # other bytes: still 409
    assert rig.chunk(session_id, pattern(10, 2), index=1).status_code == 429  # a new index is over the cap
    assert len(quota_entries(rig)) == 1
    assert rig.storage() == 1000


def test_the_closed_answer_comes_before_the_quota(rig):
    at_noon(rig)
    cap(rig, 1000)
    session_id = rig.start()
    assert rig.chunk(session_id, pattern(1000, 0)).status_code == 200
    assert rig.finalize(session_id).status_code == 200
    assert rig.chunk(session_id, pattern(10, 1)).status_code == 409
    assert rig.api.post("/sessions/sess_nope/recording/chunk", ALICE, b"x",
                        content_type="application/octet-stream").status_code == 404
    assert "quotaExceeded" not in rig.session(session_id) and quota_entries(rig) == []


def test_two_chunks_racing_at_the_cap_one_passes(rig):
    noon = at_noon(rig)
    cap(rig, 1500)
    sessions = [rig.start(), rig.start()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def upload(session_id: str, seed: int) -> None:
        barrier.wait()
        try:
            rig.recordings.append(alice(), session_id, pattern(1000, seed), None)
            outcomes.append("ok")
        except TooManyRequests:
            outcomes.append("429")

    threads = [threading.Thread(target=upload, args=(s, i)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["429", "ok"]
    assert int(counted(rig, "alice", noon)["bytes"]) == 1000  # the cap was not overshot
    assert rig.storage() == 1000

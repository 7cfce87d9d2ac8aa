"""DELETE /sessions, the purge worker, single deletes and legal holds (docs/purge-retention.md)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chalicelib.store import keys
from chalicelib.store.generations import Generations
from tests.support.clients import BUCKET, make_token
from tests.support.recording_harness import Crash
from tests.support.rig import (
    ADMIN,
    ALICE,
    BOB,
    DELETER,
    SMALL_PART,
    Rig,
    commands,
    file_session,
    finished,
    input_events,
    objects,
    pattern,
    purge,
)

OWNER_ONLY_ITEMS = {"SETTINGS", "ACCESS", "HOLDS"}


def listed(rig: Rig, path: str = "/sessions") -> list[str]:
    response = rig.api.get(path + "?limit=2000", ADMIN)
    assert response.status_code == 200
    return [s["id"] for s in response.json["sessions"]]


def partitions(rig: Rig) -> set[str]:
    """The PK prefixes (and session partitions) left in the table."""
    items = rig.table.scan()["Items"]
    return {str(i["PK"]) for i in items}


def open_uploads() -> list[Any]:
    return boto3.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


@pytest.fixture
def world(rig: Rig) -> dict[str, Any]:
    """Finished recordings (one multipart), one still being written with an open multipart upload, SSH with
    commands, RDP input events, file sessions; one finished recording on legal hold."""
    done = [finished(rig, size=1000 + i, seed=i) for i in range(3)]
    big = rig.start("rdp")
    for i in range(3):
        assert rig.chunk(big, pattern(SMALL_PART, 40 + i)).status_code == 200
    assert rig.finalize(big).status_code == 200
    live = rig.start("rdp")
    for i in range(2):
        assert rig.chunk(live, pattern(SMALL_PART, 50 + i)).status_code == 200
    assert rig.rec(live)["parts"] >= 1 and open_uploads()
    ssh = rig.start("ssh")
    commands(rig, ssh)
    input_events(rig, live)
    for name in ("f1", "f2"):
        file_session(rig, name)
    held = done[0]
    assert rig.api.put(f"/sessions/{held}/hold", DELETER).status_code == 200
    return {"done": done, "big": big, "live": live, "ssh": ssh, "held": held, "files": ["f1", "f2"]}


def test_purge_answers_exact_counts_and_hides_everything_at_once(rig, world):
    before = rig.storage()
    held_bytes = rig.session(world["held"])["fileSize"]
    answer = purge(rig)
    # 6 sessions (3 done + big + live + ssh), 4 finished recordings; the held one and its recording stay
    assert answer == {"ok": True, "deletedSessions": 5, "deletedRecordings": 3, "deletedFileSessions": 2,
                      "keptOnHold": 1}
    assert listed(rig) == [world["held"]]
    assert rig.api.get("/sessions?limit=10", ADMIN).json["sessions"][0]["onHold"] is True
    assert listed(rig, "/file-sessions") == []
    for session_id in (world["big"], world["live"], world["ssh"], *world["done"][1:]):
        for path in ("", "/commands", "/recording/events", "/recording"):
            assert rig.api.get(f"/sessions/{session_id}{path}", ADMIN).status_code == 404, path
        assert rig.api.post(f"/sessions/{session_id}/commands", ADMIN, [{"elapsed": 1, "command": "x"}]
                            ).status_code == 404
        assert rig.api.put(f"/sessions/{session_id}/hold", DELETER).status_code == 404
        assert rig.api.delete(f"/sessions/{session_id}", DELETER).status_code == 404
    assert rig.finalize(world["live"]).status_code == 404
    for name in world["files"]:
        assert rig.api.get(f"/file-sessions/{name}/events", ADMIN).status_code == 404
        assert rig.api.get(f"/file-sessions/{name}/export?format=csv", ADMIN).status_code == 404
        assert rig.api.delete(f"/file-sessions/{name}", DELETER).status_code == 404
    assert rig.api.get(f"/sessions/{world['held']}/recording", ADMIN).status_code == 302
    assert rig.storage() == before  # the bytes go when the background work has deleted them

    rig.purge_work()
    assert rig.chunk(world["live"], b"late").status_code == 404
    assert rig.storage() == held_bytes
    left = partitions(rig)
    assert {pk for pk in left if pk.startswith(("SESSION#", "FILES#"))} == {keys.session_pk(world["held"])}
    assert not any(pk == keys.JOBS_PK for pk in left)
    assert objects(rig) == [keys.recording_key(world["held"], "webm")]
    assert open_uploads() == []
    assert rig.api.get(f"/sessions/{world['held']}/recording", ADMIN).status_code == 302


def test_a_second_purge_counts_only_what_came_since_and_a_released_session_goes(rig, world):
    purge(rig)
    rig.purge_work()
    newer = finished(rig, size=500)
    assert purge(rig) == {"ok": True, "deletedSessions": 1, "deletedRecordings": 1, "deletedFileSessions": 0,
                          "keptOnHold": 1}
    assert rig.api.delete(f"/sessions/{world['held']}/hold", DELETER).status_code == 200
    assert "onHold" not in rig.session(world["held"])
    assert purge(rig) == {"ok": True, "deletedSessions": 1, "deletedRecordings": 1, "deletedFileSessions": 0,
                          "keptOnHold": 0}
    rig.purge_work()
    assert listed(rig) == [] and objects(rig) == [] and rig.storage() == 0
    assert rig.api.get(f"/sessions/{newer}", ADMIN).status_code == 404


@pytest.mark.parametrize("step", [3, 8, 19])
def test_a_worker_killed_again_and_again_resumes_and_finishes_exactly(rig, world, step):
    """The worker dies after `step`, then `2 * step`, `3 * step` ... AWS calls, each time somewhere else, until a
    run gets through; each restart comes after the dead run's lease has expired (as retention_sweep restarts it)."""
    held_bytes = rig.session(world["held"])["fileSize"]
    purge(rig)
    crashes = 0
    while True:
        assert crashes < 40
        rig.gate.arm(step * (crashes + 1))
        try:
            rig.services.purge.work()
            break
        except Crash:
            crashes += 1
            rig.clock.advance(3600)
            assert rig.services.purge.resume() is True  # a job waits with no live worker: start one
    rig.gate.crash_at = None
    assert crashes >= 1
    assert rig.storage() == held_bytes
    assert {pk for pk in partitions(rig) if pk.startswith(("SESSION#", "FILES#", keys.JOBS_PK))} == {
        keys.session_pk(world["held"])}
    assert objects(rig) == [keys.recording_key(world["held"], "webm")]
    assert open_uploads() == []


def test_sessions_started_while_a_purge_closes_the_generation_survive(rig, world):
    settings_repo = rig.services.sessions._settings
    real = settings_repo.recording_and_connection
    purged: list[dict[str, Any]] = []

    def read_then_purge(connection_id: str, consistent: bool = False) -> Any:
        found = real(connection_id, consistent)
        if not purged:  # the start read the old generation; the purge lands before its transaction
            purged.append(purge(rig))
        return found

    settings_repo.recording_and_connection = read_then_purge
    survivor = rig.start("rdp")
    settings_repo.recording_and_connection = real
    assert purged[0]["deletedSessions"] == 5  # the survivor is not counted as deleted
    assert survivor in listed(rig)
    assert rig.chunk(survivor, b"still recording").status_code == 200
    rig.purge_work()
    assert rig.session(survivor)["id"] == survivor
    assert purge(rig)["deletedSessions"] == 1  # counted in the new generation, exactly once


def test_single_deletes_remove_one_session_and_all_it_owns(rig, world):
    target = world["done"][1]
    size = rig.session(target)["fileSize"]
    before = rig.storage()
    commands(rig, target)
    assert rig.api.delete(f"/sessions/{world['held']}", DELETER).json == {
        "error": "the session is on legal hold; release the hold first", "onHold": True}
    assert rig.api.delete(f"/sessions/{target}", ALICE).status_code == 403
    assert rig.api.delete(f"/sessions/{target}", DELETER).json == {"ok": True}
    assert rig.api.get(f"/sessions/{target}", ADMIN).status_code == 404
    assert rig.api.get(f"/sessions/{target}/commands", ADMIN).status_code == 404
    assert target not in listed(rig)
    assert rig.api.delete(f"/sessions/{target}", DELETER).status_code == 404
    assert rig.api.delete("/file-sessions/f1", DELETER).json == {"ok": True}
    assert listed(rig, "/file-sessions") == ["f2"]
    assert rig.api.delete(f"/sessions/{world['live']}", DELETER).status_code == 200
    assert rig.chunk(world["live"], b"more").status_code == 404  # closed at once
    rig.purge_work()
    assert not [pk for pk in partitions(rig) if pk in (keys.session_pk(target), "FILES#f1",
                                                         keys.session_pk(world["live"]))]
    live_bytes = 2 * SMALL_PART
    assert rig.storage() == before - size - live_bytes
    assert keys.recording_key(target, "webm") not in objects(rig)
    assert not [k for k in objects(rig) if world["live"] in k]
    assert open_uploads() == []
    # the purge after them counts neither twice
    assert purge(rig) == {"ok": True, "deletedSessions": 3, "deletedRecordings": 2, "deletedFileSessions": 1,
                          "keptOnHold": 1}


def test_holds_need_sessions_delete_and_are_idempotent(rig, world):
    session_id = world["done"][1]
    assert rig.api.put(f"/sessions/{session_id}/hold", ALICE).status_code == 403
    assert rig.api.put(f"/sessions/{session_id}/hold", make_token("m", permissions=["settings.manage"])
                       ).status_code == 403
    assert rig.api.put("/sessions/nope/hold", DELETER).status_code == 404
    assert rig.api.put(f"/sessions/{session_id}/hold", DELETER).json == {"ok": True}
    assert rig.api.put(f"/sessions/{session_id}/hold", DELETER).json == {"ok": True}
    assert rig.api.get(f"/sessions/{session_id}", ALICE).json["onHold"] is True
    assert rig.api.delete(f"/sessions/{session_id}", DELETER).status_code == 409
    assert rig.api.delete(f"/sessions/{session_id}/hold", DELETER).json == {"ok": True}
    assert rig.api.delete(f"/sessions/{session_id}/hold", DELETER).json == {"ok": True}
    assert rig.api.delete(f"/sessions/{session_id}", DELETER).json == {"ok": True}
    assert purge(rig)["keptOnHold"] == 1  # only world["held"]


def test_purge_needs_sessions_delete(rig, world):
    for token in (ALICE, BOB, make_token("m", permissions=["settings.manage", "sessions.view_any"])):
        assert rig.api.delete("/sessions", token).status_code == 403
    assert rig.api.delete("/sessions").status_code == 401
    assert len(listed(rig)) == 6


def test_a_purge_moves_more_holds_than_one_transaction_and_one_read_carry(rig):
    """105 holds: two BatchGetItem requests and three move transactions, sent side by side; every held session
    is moved, counted and listed, the rest purged."""
    held = [rig.start() for _ in range(105)]
    recorded = [finished(rig, size=300 + i, seed=i) for i in range(2)]
    loose = [rig.start() for _ in range(2)]
    for session_id in held + recorded[:1]:
        assert rig.api.put(f"/sessions/{session_id}/hold", DELETER).status_code == 200
    answer = purge(rig)
    assert answer == {"ok": True, "deletedSessions": 3, "deletedRecordings": 1, "deletedFileSessions": 0,
                      "keptOnHold": 106}
    assert sorted(listed(rig)) == sorted(held + recorded[:1])
    assert not set(loose) & set(listed(rig))
    # moved into the new generation's totals: a second purge keeps exactly the same sessions
    assert purge(rig) == {"ok": True, "deletedSessions": 0, "deletedRecordings": 0, "deletedFileSessions": 0,
                          "keptOnHold": 106}


def test_a_purge_after_one_that_died_before_moving_its_holds_counts_them_as_kept(rig):
    held = finished(rig, size=400)
    loose = rig.start()
    assert rig.api.put(f"/sessions/{held}/hold", DELETER).status_code == 200
    gen = Generations(rig.table).current()
    rig.services.purge._repo.bump(gen, 0)  # a purge request that died right after closing the generation
    later = rig.start()
    assert purge(rig) == {"ok": True, "deletedSessions": 1, "deletedRecordings": 0, "deletedFileSessions": 0,
                          "keptOnHold": 1}
    assert listed(rig) == [held]
    rig.purge_work()
    assert rig.api.get(f"/sessions/{loose}", ADMIN).status_code == 404
    assert rig.api.get(f"/sessions/{later}", ADMIN).status_code == 404
    assert rig.api.get(f"/sessions/{held}/recording", ADMIN).status_code == 302


def test_hiding_a_session_closes_its_recording_in_the_same_transaction(rig):
    """No moment exists in which a deleted session's recording still takes chunks or a completion (which would
    count a recording for a session already uncounted)."""
    session_id = rig.start()
    assert rig.chunk(session_id, pattern(500)).status_code == 200
    meta = Generations(rig.table).visible(keys.SESSION, session_id)
    rig.services.purge._repo.hide(keys.SESSION, meta, 0, 1)  # the delete's one write, alone
    rec = rig.rec(session_id)
    assert rec["state"] == "purged" and rec["purgedFrom"] == "recording"
    assert rig.chunk(session_id, b"late").status_code == 404
    assert rig.finalize(session_id).status_code == 404

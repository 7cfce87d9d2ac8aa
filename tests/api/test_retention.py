"""retention_sweep through the Chalice test client: age and size retention, audit expiry, reconciliation, and the
access log (docs/purge-retention.md)."""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3

from chalicelib.store import keys
from tests.support.clients import BUCKET, make_token
from tests.support.rig import (
    ADMIN,
    ALICE,
    DELETER,
    Rig,
    commands,
    file_session,
    finished,
    input_events,
    objects,
    pattern,
    purge,
)

DAY = 86_400
MANAGER = make_token("manager", permissions=["settings.manage"])


def settings(rig: Rig, **values: Any) -> None:
    assert rig.api.put("/settings/recording", ADMIN, values).status_code == 200


def has_recording(rig: Rig, session_id: str) -> bool:
    return bool(rig.session(session_id)["hasRecording"])


def test_age_retention_removes_exactly_the_old_recordings_and_keeps_the_sessions(rig):
    old = [finished(rig, size=1000 + i, seed=i) for i in range(3)]
    rig.clock.advance(2 * DAY)
    new = [finished(rig, size=2000 + i, seed=10 + i) for i in range(2)]
    assert rig.api.put(f"/sessions/{old[0]}/hold", DELETER).status_code == 200
    settings(rig, retentionDays=1)
    report = rig.retention_sweep()
    assert report["recordingsByAge"] == 2 and report["bytesFreed"] == 1001 + 1002 and report["complete"]
    assert [has_recording(rig, s) for s in old] == [True, False, False]
    assert all(has_recording(rig, s) for s in new)
    assert sorted(objects(rig)) == sorted(keys.recording_key(s, "webm") for s in (old[0], *new))
    assert rig.storage() == 1000 + 2000 + 2001
    assert rig.api.get(f"/sessions/{old[1]}/recording", ADMIN).status_code == 404
    assert rig.api.get(f"/sessions/{old[1]}", ADMIN).json["fileSize"] == 1001  # the row stays, as the gateway's
    assert rig.retention_sweep()["recordingsByAge"] == 0  # nothing twice
    assert purge(rig)["deletedRecordings"] == 2  # the recordings count followed: only `new` remain (old[0] held)


def test_size_retention_removes_the_oldest_recordings_until_the_total_fits(rig):
    sizes = [3000, 1000, 2000, 4000]
    made = []
    for i, size in enumerate(sizes):
        made.append(finished(rig, size=size, seed=i))
        rig.clock.advance(60)
    rig.clock.advance(8 * DAY)  # past minRetentionDays (7 by default), under which size retention takes nothing
    assert rig.api.put(f"/sessions/{made[1]}/hold", DELETER).status_code == 200
    settings(rig, maxTotalBytes=7000)  # 10,000 stored: the oldest unheld go until 7,000 fit
    report = rig.retention_sweep()
    assert report["recordingsBySize"] == 1 and report["bytesFreed"] == 3000
    assert [has_recording(rig, s) for s in made] == [False, True, True, True]
    assert rig.storage() == 7000
    settings(rig, maxTotalBytes=5000)
    assert rig.retention_sweep()["recordingsBySize"] == 1  # 2000 (the held 1000 stays)
    assert [has_recording(rig, s) for s in made] == [False, True, False, True]
    assert rig.storage() == 5000 and len(objects(rig)) == 2


def storage(rig: Rig) -> dict[str, Any]:
    response = rig.api.get("/sessions/storage", ADMIN)
    assert response.status_code == 200, response.body
    found: dict[str, Any] = response.json
    return found


def test_size_retention_never_takes_a_recording_younger_than_min_retention_days(rig, caplog):
    old = finished(rig, size=3000)
    rig.clock.advance(8 * DAY)
    young = [finished(rig, size=4000, seed=1)]  # someone's uploads, an hour apart
    rig.clock.advance(3600)
    young.append(finished(rig, size=4000, seed=2))
    settings(rig, maxTotalBytes=5000)  # 11,000 stored; the old one alone is what may go
    report = rig.retention_sweep()
    assert report["recordingsBySize"] == 1 and report["bytesFreed"] == 3000 and report["complete"]
    assert report["overLimitBytes"] == 3000  # 8,000 stay over 5,000: nothing else is old enough
    assert [has_recording(rig, s) for s in (old, *young)] == [False, True, True]
    assert storage(rig) == {"bytes": 8000, "maxTotalBytes": 5000, "overLimit": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "storageOverLimit" in
                r.getMessage()]
    assert len(warnings) == 1 and '"overLimitBytes": 3000' in warnings[0] and '"minRetentionDays": 7' in warnings[0]
    assert rig.retention_sweep()["recordingsBySize"] == 0  # still over, still kept
    rig.clock.advance(7 * DAY - 1800)  # the first of them is 7 days and half an hour old, the other not yet
    again = rig.retention_sweep()
    assert again["recordingsBySize"] == 1 and again["overLimitBytes"] == 0
    assert [has_recording(rig, s) for s in young] == [False, True]
    assert storage(rig) == {"bytes": 4000, "maxTotalBytes": 5000, "overLimit": False}


def test_min_retention_days_zero_lets_size_retention_take_any_finished_recording(rig):
    made = [finished(rig, size=3000 + i, seed=i) for i in range(2)]
    settings(rig, maxTotalBytes=4000, minRetentionDays=0)
    report = rig.retention_sweep()
    assert report["recordingsBySize"] == 1 and report["bytesFreed"] == 3000 and report["overLimitBytes"] == 0
    assert [has_recording(rig, s) for s in made] == [False, True]


def test_the_floor_leaves_age_retention_alone(rig):
    old = finished(rig, size=1000)
    rig.clock.advance(3 * DAY)
    settings(rig, retentionDays=2, minRetentionDays=30)  # a floor above retentionDays does not keep anything longer
    assert rig.retention_sweep()["recordingsByAge"] == 1
    assert not has_recording(rig, old)


def test_storage_without_a_limit_is_never_over_it(rig):
    finished(rig, size=1000)
    assert storage(rig) == {"bytes": 1000, "maxTotalBytes": None, "overLimit": False}
    assert rig.retention_sweep()["overLimitBytes"] == 0


def test_audit_records_older_than_the_audit_retention_go(rig):
    rig.services.retention._settings = dataclasses.replace(rig.services.settings, audit_retention_days=30)
    old = rig.start("ssh")
    commands(rig, old)
    old_rdp = rig.start("rdp")
    input_events(rig, old_rdp)
    file_session(rig, "old-files")  # its events carry 2024 timestamps: the file session started then
    held = rig.start("ssh")
    commands(rig, held)
    assert rig.api.put(f"/sessions/{held}/hold", DELETER).status_code == 200
    rig.clock.advance(31 * DAY)
    young = rig.start("ssh")
    commands(rig, young)
    report = rig.retention_sweep()
    assert report["auditRecords"] == 3 + 1 + 3 + 1  # commands, one events pack, file events and their batch marker
    assert rig.api.get(f"/sessions/{old}/commands", ADMIN).json == {"commands": []}
    assert rig.api.get(f"/sessions/{old_rdp}/recording/events", ADMIN).json == {"events": []}
    assert rig.api.get("/file-sessions/old-files/events", ADMIN).json == {"events": []}
    assert len(rig.api.get(f"/sessions/{held}/commands", ADMIN).json["commands"]) == 3
    assert len(rig.api.get(f"/sessions/{young}/commands", ADMIN).json["commands"]) == 3
    assert rig.retention_sweep()["auditRecords"] == 0
    assert rig.api.delete(f"/sessions/{held}/hold", DELETER).status_code == 200
    assert rig.retention_sweep()["auditRecords"] == 3  # released: its old records go too


def test_reconciliation_repairs_the_total_and_removes_orphan_objects(rig):
    kept = finished(rig, size=1000)
    changed = finished(rig, size=2000, seed=2)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key=keys.recording_key(changed, "webm"), Body=pattern(2500, 3))  # drift: +500
    s3.put_object(Bucket=BUCKET, Key="recordings/sess_nobody.webm", Body=b"x" * 700)  # no row refers to it
    rig.clock.advance(2 * 3600)
    report = rig.retention_sweep()
    assert report["driftRepaired"] == 500 and report["orphansDeleted"] == 1
    assert rig.storage() == 1000 + 2500
    assert rig.session(changed)["fileSize"] == 2500
    assert rig.rec(changed)["bytes"] == 2500
    retain = rig.table.get_item(Key={"PK": keys.session_pk(changed), "SK": keys.RETAIN})["Item"]
    assert retain["bytes"] == 2500  # what size retention will count as freed
    assert sorted(objects(rig)) == sorted(keys.recording_key(s, "webm") for s in (kept, changed))
    again = rig.retention_sweep()
    assert again["driftRepaired"] == 0 and again["orphansDeleted"] == 0


def test_retention_sweep_restarts_a_purge_worker_that_never_ran(rig):
    finished(rig)
    purge(rig)  # WORKER_INVOKE=none here: like a worker that died at once
    assert rig.retention_sweep()["purgeWorkerRestarted"] is True
    rig.purge_work()
    assert rig.retention_sweep()["purgeWorkerRestarted"] is False


def test_the_access_log_records_every_kind_of_action_and_is_paged(rig):
    played = finished(rig)
    actions = [
        lambda: rig.api.get(f"/sessions/{played}/recording", ALICE),
        lambda: rig.api.get(f"/sessions/{played}/recording?download=1", ADMIN),
        lambda: (file_session(rig, "exported"), rig.api.get("/file-sessions/exported/export?format=csv", ALICE))[1],
        lambda: rig.api.put(f"/sessions/{played}/hold", DELETER),
        lambda: rig.api.delete(f"/sessions/{played}/hold", DELETER),
        lambda: rig.api.delete(f"/sessions/{played}", DELETER),
        lambda: rig.api.delete("/sessions", DELETER),
    ]
    for act in actions:
        rig.clock.advance(1)
        assert act().status_code in (200, 302)
    assert rig.api.get(f"/sessions/{played}/recording", ALICE).status_code == 404  # refused: not logged
    assert rig.api.get("/access-log", ALICE).status_code == 403
    assert rig.api.get("/access-log", DELETER).status_code == 403
    page = rig.api.get("/access-log?limit=4", MANAGER).json
    later = rig.api.get(f"/access-log?limit=4&cursor={page['nextCursor']}", MANAGER).json
    assert later["nextCursor"] is None
    entries = page["entries"] + later["entries"]
    assert [(e["action"], e["target"], e["userId"]) for e in entries] == [
        ("purge", "sessions", "deleter"),
        ("delete", f"sessions/{played}", "deleter"),
        ("release", f"sessions/{played}", "deleter"),
        ("hold", f"sessions/{played}", "deleter"),
        ("export", "file-sessions/exported", "alice"),
        ("recording.download", f"sessions/{played}", "admin"),
        ("recording.play", f"sessions/{played}", "alice"),
    ]
    assert all(set(e) == {"at", "userId", "username", "action", "target", "ip"} for e in entries)
    assert entries[0]["at"] >= entries[-1]["at"]
    # neither retention nor purge touches it
    rig.purge_work()
    rig.retention_sweep()
    assert len(rig.api.get("/access-log?limit=100", MANAGER).json["entries"]) == 7
    assert rig.api.get("/access-log?cursor=forged", MANAGER).status_code == 400

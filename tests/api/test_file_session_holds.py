"""Legal holds on file sessions (PUT/DELETE /file-sessions/{id}/hold): kept by purges, single deletes and audit
expiry exactly as held sessions are (docs/purge-retention.md)."""

from __future__ import annotations

import dataclasses

from chalicelib.store import keys
from tests.support.clients import make_token
from tests.support.rig import ADMIN, ALICE, DELETER, Rig, file_session, purge

DAY = 86_400


def file_list(rig: Rig) -> list[dict[str, object]]:
    response = rig.api.get("/file-sessions?limit=100", ADMIN)
    assert response.status_code == 200
    return list(response.json["sessions"])


def paths(rig: Rig, file_id: str) -> list[str]:
    response = rig.api.get(f"/file-sessions/{file_id}/events", ADMIN)
    assert response.status_code == 200, response.body
    return [e["path"] for e in response.json["events"]]


def test_holds_on_file_sessions_need_sessions_delete_and_are_idempotent(rig):
    file_session(rig, "fs-held")
    assert rig.api.put("/file-sessions/fs-held/hold", ALICE).status_code == 403
    assert rig.api.put("/file-sessions/fs-held/hold", make_token("m", permissions=["settings.manage"])
                       ).status_code == 403
    assert rig.api.put("/file-sessions/nope/hold", DELETER).status_code == 404
    assert rig.api.put("/file-sessions/bad%20id/hold", DELETER).status_code == 400
    for _ in range(2):
        assert rig.api.put("/file-sessions/fs-held/hold", DELETER).json == {"ok": True}
    (row,) = file_list(rig)
    assert row["onHold"] is True
    hold = rig.table.get_item(Key={"PK": keys.HOLDS_PK, "SK": keys.hold_sk(keys.FILES, "fs-held")}).get("Item")
    assert hold is not None and hold["id"] == "fs-held"
    for _ in range(2):
        assert rig.api.delete("/file-sessions/fs-held/hold", DELETER).json == {"ok": True}
    (row,) = file_list(rig)
    assert "onHold" not in row
    # a session's hold route does not reach a file session of the same id, nor the other way round
    assert rig.api.put("/sessions/fs-held/hold", DELETER).status_code == 404


def test_a_held_file_session_survives_purges_and_single_deletes_and_goes_once_released(rig):
    file_session(rig, "fs-held")
    file_session(rig, "fs-gone")
    assert rig.api.put("/file-sessions/fs-held/hold", DELETER).status_code == 200
    refused = rig.api.delete("/file-sessions/fs-held", DELETER)
    assert refused.status_code == 409
    assert refused.json == {"error": "the session is on legal hold; release the hold first", "onHold": True}
    answer = purge(rig)
    assert answer == {"ok": True, "deletedSessions": 0, "deletedRecordings": 0, "deletedFileSessions": 1,
                      "keptOnHold": 1}
    rig.purge_work()
    assert [row["id"] for row in file_list(rig)] == ["fs-held"]
    assert paths(rig, "fs-held") == ["/tmp/0", "/tmp/1", "/tmp/2"]
    assert rig.api.get("/file-sessions/fs-gone/events", ADMIN).status_code == 404
    # held across a second purge too, then released: the next purge takes it
    assert purge(rig)["keptOnHold"] == 1
    assert rig.api.delete("/file-sessions/fs-held/hold", DELETER).status_code == 200
    assert purge(rig) == {"ok": True, "deletedSessions": 0, "deletedRecordings": 0, "deletedFileSessions": 1,
                          "keptOnHold": 0}
    rig.purge_work()
    assert file_list(rig) == []
    assert not [i for i in rig.table.scan()["Items"] if str(i["PK"]).startswith(keys.FILES + "#")]


def test_audit_expiry_keeps_a_held_file_sessions_events_until_it_is_released(rig):
    rig.services.retention._settings = dataclasses.replace(rig.services.settings, audit_retention_days=30)
    file_session(rig, "fs-held")  # its events carry 2024 timestamps: the file session started then
    file_session(rig, "fs-old")
    assert rig.api.put("/file-sessions/fs-held/hold", DELETER).status_code == 200
    rig.clock.advance(31 * DAY)
    assert rig.retention_sweep()["auditRecords"] == 3 + 1  # fs-old's events and its batch marker
    assert paths(rig, "fs-old") == []
    assert len(paths(rig, "fs-held")) == 3
    assert rig.api.delete("/file-sessions/fs-held/hold", DELETER).status_code == 200
    assert rig.retention_sweep()["auditRecords"] == 3 + 1  # released: its old events go on the next run
    assert paths(rig, "fs-held") == []


def test_file_session_holds_are_in_the_access_log(rig):
    file_session(rig, "fs-held")
    manager = make_token("manager", permissions=["settings.manage"])
    assert rig.api.put("/file-sessions/fs-held/hold", DELETER).status_code == 200
    rig.clock.advance(1)
    assert rig.api.delete("/file-sessions/fs-held/hold", DELETER).status_code == 200
    entries = rig.api.get("/access-log?limit=10", manager).json["entries"]
    assert [(e["action"], e["target"]) for e in entries[:2]] == [
        ("release", "file-sessions/fs-held"), ("hold", "file-sessions/fs-held")]

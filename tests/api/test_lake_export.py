"""The write side of the audit lake (docs/search.md, "The outbox"): every command, file event and session version
is marked by the write that stores it, and `lake_export` moves it to the lake exactly once per mark (a retried or
re-marked write is exported again; readers keep one row per id), losing nothing to a crash after any AWS call."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.domain.lake import LakeExporter
from chalicelib.model.clock import Clock as ServiceClock
from chalicelib.store import keys
from chalicelib.store.lake import LakeObjects
from chalicelib.store.objects import RecordingObjects
from tests.support.clients import BUCKET
from tests.support.lake import Interleaved, lake_rows, latest, of_session, pending, pending_of
from tests.support.recording_harness import Crash
from tests.support.rig import ADMIN, DELETER, commands, file_session, purge
from tests.support.scheduled import invoke_scheduled

CAST = b'{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "$ "]\n'


def export(rig) -> dict:
    """One run of the scheduled `lake_export`, as EventBridge starts it."""
    report: dict = invoke_scheduled(rig.client, "lake_export")
    return report


def post_commands(rig, session_id: str, body: list[dict]) -> None:
    assert rig.api.post(f"/sessions/{session_id}/commands", ADMIN, body).status_code == 200


def command_ids(rig, session_id: str) -> dict[str, str]:
    """The id of each stored command, by its command line."""
    answer = rig.api.get(f"/sessions/{session_id}/commands", ADMIN)
    assert answer.status_code == 200
    return {c["command"]: c["id"] for c in answer.json["commands"]}


def ended_ssh(rig) -> str:
    session_id = rig.start("ssh")
    assert rig.chunk(session_id, CAST).status_code == 200
    assert rig.finalize(session_id).status_code == 200
    return session_id


def test_a_command_batch_lands_in_the_lake_once_with_its_row(rig):
    session_id = rig.start("ssh")
    post_commands(rig, session_id, [
        {"elapsed": 1.5, "command": "rm -rf /var/lib/db", "output_preview": "",
         "timestamp": "2026-03-04T23:30:00-02:00"},
        {"elapsed": 7, "command": "ls", "output_preview": "a"},
    ])
    # the session's start; the batch's two transactions (its first command, counted, then the rest)
    assert len(pending_of(rig.table, session_id)) == 3
    report = export(rig)
    assert report["errors"] == 0 and report["cleared"] >= 3
    rows = lake_rows(rig.s3, "commands", of_session(session_id))
    ids = command_ids(rig, session_id)
    assert len(rows) == 2
    first = next(row for row in rows if row["text"] == "rm -rf /var/lib/db")
    assert first == {
        "id": f"{session_id}/{ids['rm -rf /var/lib/db']}", "version": 0, "session_id": session_id,
        "file_session_id": None, "user_id": "alice", "username": "alice", "connection_id": "c1",
        "connection_name": "c1", "protocol": "ssh", "at": "2026-03-05T01:30:00.000Z", "elapsed": 1.5,
        "text": "rm -rf /var/lib/db", "ended_at": None, "gen": 0, "day": "2026-03-05",
    }
    second = next(row for row in rows if row["text"] == "ls")
    assert second["elapsed"] == 7.0 and second["at"] == rig.session(session_id)["startedAt"][:11] + second["at"][11:]
    assert pending_of(rig.table, session_id) == []
    again = export(rig)
    assert again["rows"] == 0 and again["objects"] == 0
    assert len(lake_rows(rig.s3, "commands", of_session(session_id))) == 2


def test_each_transaction_of_a_large_batch_marks_exactly_its_commands_and_makes_no_extra_request(rig):
    session_id = rig.start("ssh")
    before = len(rig.gate.names)
    post_commands(rig, session_id, [{"elapsed": i, "command": f"echo {i}", "output_preview": ""} for i in range(250)])
    made = rig.gate.names[before:]
    marks = sorted((m for m in pending_of(rig.table, session_id) if m["SK"] != keys.LAKE_SESSIONS_SK),
                   key=lambda m: m["SK"])
    # the counted first command alone, then groups of 98 (100 entries: the guard, 98 commands, their mark)
    assert [len(m["sortKeys"]) for m in marks] == [1, 98, 98, 53]
    assert [m["SK"][-2:] for m in marks] == ["00", "01", "02", "03"]
    stored = {item["SK"] for item in rig.table.query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :cmd)",
        ExpressionAttributeValues={":pk": keys.session_pk(session_id), ":cmd": keys.COMMAND_PREFIX})["Items"]}
    listed = [sk for m in marks for sk in m["sortKeys"]]
    assert sorted(listed) == sorted(stored) and len(stored) == 250
    # a transaction a group, as before the outbox (1 + ceil(249 / 99) = 4): the marks ride in them
    assert [name for name in made if name.startswith("dynamodb.") and "transact" in name] == \
        ["dynamodb.transact_write_items"] * 4
    assert not [name for name in made if name.endswith(("put_item", "batch_write_item", "update_item"))]
    export(rig)
    assert len(latest(lake_rows(rig.s3, "commands", of_session(session_id)))) == 250


def test_a_file_event_batch_lands_in_the_lake_once_marked_after_its_events(rig):
    name = f"fs-{uuid.uuid4().hex[:8]}"
    before = len(rig.gate.names)
    file_session(rig, name, events=3)
    made = [n for n in rig.gate.names[before:] if n.startswith("dynamodb.")]
    # the events' BatchWriteItem, then their mark: the one request the outbox adds to a file-event batch
    assert made.index("dynamodb.put_item") > made.index("dynamodb.batch_write_item")
    assert made.count("dynamodb.put_item") == 1
    [mark] = pending_of(rig.table, name)
    assert mark["SK"].startswith("LAKE#files#") and len(mark["sortKeys"]) == 3
    export(rig)
    rows = sorted(lake_rows(rig.s3, "files", of_session(name)), key=lambda row: row["text"])
    assert [row["text"] for row in rows] == ["upload /tmp/0", "upload /tmp/1", "upload /tmp/2"]
    assert rows[0] | {"id": None} == {
        "id": None, "version": 0, "session_id": None, "file_session_id": name, "user_id": "alice",
        "username": "alice", "connection_id": "files", "connection_name": "files", "protocol": "sftp",
        "at": "2024-01-01T00:00:00.000Z", "elapsed": None, "text": "upload /tmp/0", "ended_at": None, "gen": 0,
        "day": "2024-01-01",
    }
    assert all(row["id"].startswith(f"{name}/evt_") for row in rows) and len({r["id"] for r in rows}) == 3
    assert pending_of(rig.table, name) == []


def test_retried_batches_rewrite_their_marks_and_dedupe_to_one_row_each(rig):
    session_id = rig.start("ssh")
    body = [{"elapsed": i, "command": f"cat /etc/shadow{i}", "output_preview": ""} for i in range(3)]
    post_commands(rig, session_id, body)
    post_commands(rig, session_id, body)  # the gateway's retry: the same keys, the same marks
    name = f"fs-{uuid.uuid4().hex[:8]}"
    file_session(rig, name)
    file_session(rig, name)
    assert len(pending_of(rig.table, session_id)) == 3 and len(pending_of(rig.table, name)) == 1  # rewritten
    export(rig)
    assert len(lake_rows(rig.s3, "commands", of_session(session_id))) == 3  # marked once: exported once
    assert len(lake_rows(rig.s3, "files", of_session(name))) == 3
    post_commands(rig, session_id, body)  # a retry after the export marks the rest again: the lake keeps it once
    export(rig)
    rows = lake_rows(rig.s3, "commands", of_session(session_id))
    assert len(rows) == 5 and len(latest(rows)) == 3  # the first command was counted (and marked) once


def test_a_session_lands_at_start_and_again_when_it_ends(rig):
    session_id = rig.start("ssh")
    export(rig)
    [started] = lake_rows(rig.s3, "sessions", of_session(session_id))
    meta = rig.session(session_id)
    assert started == {
        "id": session_id, "version": started["version"], "session_id": session_id, "file_session_id": None,
        "user_id": "alice", "username": "alice", "connection_id": "c1", "connection_name": "c1", "protocol": "ssh",
        "at": meta["startedAt"], "elapsed": None, "text": "alice ssh c1 recording recording", "ended_at": None,
        "gen": 0, "day": meta["startedAt"][:10],
    }
    rig.clock.advance(30)
    assert rig.chunk(session_id, CAST).status_code == 200
    assert rig.finalize(session_id).status_code == 200
    export(rig)
    rows = lake_rows(rig.s3, "sessions", of_session(session_id))
    ended = latest(rows)[session_id]
    meta = rig.session(session_id)
    assert len(rows) == 2 and ended["version"] > started["version"]
    assert ended["ended_at"] == meta["endedAt"] and ended["ended_at"] is not None
    assert ended["text"] == f"alice ssh c1 recording complete {len(CAST)} bytes"
    assert pending_of(rig.table, session_id) == []


def test_a_session_whose_recording_times_out_lands_with_its_end(rig):
    session_id = rig.start("rdp")
    assert rig.chunk(session_id, b"\x1a\x45\xdf\xa3" + bytes(500)).status_code == 200
    export(rig)
    rig.clock.advance(601)  # the video idle timeout: the sweep completes it
    rig.sweep()
    export(rig)
    ended = latest(lake_rows(rig.s3, "sessions", of_session(session_id)))[session_id]
    assert ended["ended_at"] == rig.session(session_id)["endedAt"] and ended["ended_at"] is not None
    assert "recording timed_out" in ended["text"]


def test_sessions_started_by_every_route_are_marked(rig):
    rdp = rig.api.post("/sessions/rdp-session", ADMIN, {"connectionId": "c1", "userId": "bob", "username": "bob"})
    assert rdp.status_code == 200
    export(rig)
    [row] = lake_rows(rig.s3, "sessions", of_session(rdp.json["sessionId"]))
    assert (row["protocol"], row["user_id"], row["username"]) == ("rdp", "bob", "bob")  # on the user's behalf


def test_a_mark_rewritten_during_an_export_stays_for_the_next_run(rig):
    session_id = rig.start("ssh")
    clock = ServiceClock(rig.clock, rig.clock.sleep)
    lake = LakeObjects(RecordingObjects(rig.s3, BUCKET))

    def end_it() -> None:  # the session ends after the exporter read its META, before it clears the mark
        rig.clock.advance(5)
        assert rig.chunk(session_id, CAST).status_code == 200
        assert rig.finalize(session_id).status_code == 200

    report = LakeExporter(Interleaved(rig.table, end_it), lake, clock, 40).run()
    assert report["kept"] == 1
    assert [row["ended_at"] for row in lake_rows(rig.s3, "sessions", of_session(session_id))] == [None]
    assert len(pending_of(rig.table, session_id)) == 1
    export(rig)
    assert latest(lake_rows(rig.s3, "sessions", of_session(session_id)))[session_id]["ended_at"] is not None
    assert pending_of(rig.table, session_id) == []


def test_pending_records_of_a_deleted_session_are_dropped_and_their_marks_cleared(rig):
    session_id = ended_ssh(rig)
    commands(rig, session_id)
    assert rig.api.delete(f"/sessions/{session_id}", DELETER).status_code == 200
    report = export(rig)
    assert report["dropped"] >= 2
    assert lake_rows(rig.s3, "commands", of_session(session_id)) == []
    assert lake_rows(rig.s3, "sessions", of_session(session_id)) == []
    assert pending_of(rig.table, session_id) == []


def test_pending_records_of_purged_sessions_are_dropped_and_their_marks_cleared(rig):
    session_id = ended_ssh(rig)
    commands(rig, session_id)
    name = f"fs-{uuid.uuid4().hex[:8]}"
    file_session(rig, name)
    purge(rig)  # before the worker has removed anything: the generation moved on
    report = export(rig)
    assert report["dropped"] >= 3
    for kind in ("commands", "files", "sessions"):
        assert lake_rows(rig.s3, kind) == []
    assert pending(rig.table) == []


def scenario(rig) -> tuple[str, str]:
    """A session with commands that ended, and a file session: what one export has to move."""
    session_id = ended_ssh(rig)
    commands(rig, session_id, 4)
    name = f"fs-{uuid.uuid4().hex[:8]}"
    file_session(rig, name, events=5)
    return session_id, name


def exported(rig, session_id: str, name: str) -> dict[str, dict]:
    """What readers see of the scenario: one row per id (a session's version aside, which is when it was read)."""
    rows = [row for kind in ("commands", "files", "sessions")
            for row in lake_rows(rig.s3, kind, lambda row: session_id in (row["session_id"], row["file_session_id"])
                                 or name == row["file_session_id"])]
    return {key: {**row, "version": None} for key, row in latest(rows).items()}


def test_a_crash_after_every_aws_call_of_the_export_loses_nothing_and_leaves_no_mark(rig):
    export(rig)
    session_id, name = scenario(rig)
    first = rig.gate.calls
    rig.services.lake_export.run()
    calls = rig.gate.calls - first
    assert calls >= 20  # 16 shard queries, the reads, 3 PutObjects, 3 conditional deletes
    want = exported(rig, session_id, name)
    assert len(want) == 4 + 5 + 1
    for crash_after in range(calls):
        session_id, name = scenario(rig)
        rig.gate.arm(crash_after)
        with pytest.raises(Crash):
            rig.services.lake_export.run()
        rig.gate.crash_at = None
        report = rig.services.lake_export.run()
        assert report["errors"] == 0, crash_after
        assert pending_of(rig.table, session_id) == [] and pending_of(rig.table, name) == [], crash_after
        got = exported(rig, session_id, name)
        assert len(got) == len(want), f"crash after {crash_after} calls"
        assert {row["text"] for row in got.values()} == {row["text"] for row in want.values()}

"""Who may write what (issue 15): write rights follow who really produces each record, a finished session takes
nothing more from its owner, a held session takes nothing from anyone, a file session keeps the owner it was
created for. Rules: docs/audit-records.md, "Who writes what"."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.access import Caller
from chalicelib.domain.audit import AuditService, Command, FileBatch, FileEvent, FileSessionService
from chalicelib.domain.sessions import Owner
from chalicelib.errors import Conflict
from chalicelib.model.audit import InputEvent
from chalicelib.model.clock import Clock
from chalicelib.model.sessions import FileSession, Session
from chalicelib.store import keys
from chalicelib.store.audit import AuditRepository, FileEventRepository
from chalicelib.store.sessions import SessionRepository
from chalicelib.store.settings_store import SettingsRepository
from tests.support.clients import make_token
from tests.support.rig import ADMIN, ALICE, BOB, DELETER, Rig, ingest, pattern
from tests.support.sessions import start_session

INGEST = make_token("gateway", role="service", permissions=["sessions.ingest"])
VIEWER = make_token("auditor", role="auditor", permissions=["sessions.view_any"])
COMMAND = {"elapsed": 1.5, "command": "rm -rf /evidence"}
EVENT = {"elapsed": 2, "type": "key"}


def commands_of(rig: Rig, session_id: str) -> list[str]:
    return [c["command"] for c in rig.api.get(f"/sessions/{session_id}/commands", ADMIN).json["commands"]]


def events_of(rig: Rig, session_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = rig.api.get(f"/sessions/{session_id}/recording/events", ADMIN).json["events"]
    return found


def post_commands(rig: Rig, session_id: str, token: str, body: Any = None) -> Any:
    return rig.api.post(f"/sessions/{session_id}/commands", token, [COMMAND] if body is None else body)


def post_events(rig: Rig, session_id: str, token: str) -> Any:
    return rig.api.post(f"/sessions/{session_id}/recording/events", token, [EVENT])


def hold(rig: Rig, session_id: str) -> None:
    assert rig.api.put(f"/sessions/{session_id}/hold", DELETER).status_code == 200


def release(rig: Rig, session_id: str) -> None:
    assert rig.api.delete(f"/sessions/{session_id}/hold", DELETER).status_code == 200


def refused(response: Any, status: int) -> None:
    assert response.status_code == status, response.body
    assert isinstance(response.json["error"], str) and response.json["error"]


# ---- the gateway's server writes SSH/Telnet casts and commands: sessions.ingest only ---------------------------


def test_a_user_token_writing_commands_is_403_even_into_their_own_session(rig):
    session_id = rig.start("ssh")
    for token in (ALICE, BOB, VIEWER, DELETER):
        refused(post_commands(rig, session_id, token), 403)
    refused(post_commands(rig, "sess_no_such", ALICE), 403)  # refused before anything is looked up
    refused(post_commands(rig, session_id, ALICE, []), 403)  # an empty flush too
    assert commands_of(rig, session_id) == []
    assert post_commands(rig, session_id, INGEST).status_code == 200
    assert commands_of(rig, session_id) == [COMMAND["command"]]


def test_the_audited_user_cannot_add_commands_to_their_finished_session_dated_before_it(rig):
    # the reproduction: the owner backdated a command into their own finished, held session
    session_id = rig.start("ssh")
    assert rig.chunk(session_id, b'{"version": 2}\n', token=INGEST).status_code == 200
    assert rig.finalize(session_id, token=INGEST).json["recordingState"] == "complete"
    hold(rig, session_id)
    forged = [{**COMMAND, "timestamp": "2000-01-01T00:00:00Z"}]
    refused(post_commands(rig, session_id, ALICE, forged), 403)
    assert commands_of(rig, session_id) == []


@pytest.mark.parametrize("protocol", ["ssh", "telnet"])
def test_the_owner_of_a_terminal_session_may_not_write_its_cast_nor_finalize_it(rig, protocol):
    session_id = rig.start(protocol)
    refused(rig.chunk(session_id, b'{"version": 2}\n', token=ALICE, content_type="application/x-asciicast"), 403)
    refused(rig.chunk(session_id, b"x", index=0, token=ALICE), 403)
    refused(rig.chunk(session_id, b"", token=ALICE), 403)  # the keep-alive too
    refused(rig.finalize(session_id, token=ALICE), 403)
    refused(post_events(rig, session_id, ALICE), 403)
    assert rig.chunk(session_id, b"x", token=BOB).status_code == 404  # not bob's: it does not exist for him
    assert rig.session(session_id)["recordingState"] == "recording"
    assert rig.staged(session_id) == []  # the refused chunks left no staged object behind
    assert rig.chunk(session_id, b'{"version": 2}\n', token=INGEST).status_code == 200
    assert rig.finalize(session_id, token=INGEST).json["recordingState"] == "complete"
    assert rig.object(session_id, "cast") == b'{"version": 2}\n'


# ---- the user's browser records RDP/VNC: its owner too, while the recording is open -----------------------------


@pytest.mark.parametrize("protocol", ["rdp", "vnc"])
def test_the_owner_writes_a_browser_recording_while_it_is_open_and_within_the_grace(rig, protocol):
    session_id = rig.start(protocol)
    assert rig.chunk(session_id, pattern(100)).status_code == 200
    assert post_events(rig, session_id, ALICE).status_code == 200
    assert rig.finalize(session_id).json["recordingState"] == "complete"
    # a flush the recorder sent while finalize ran (its uploads are fire-and-forget) is still the owner's to send
    late = {"elapsed": 9, "type": "click"}
    assert rig.api.post(f"/sessions/{session_id}/recording/events", ALICE, [late]).status_code == 200
    rig.clock.advance(rig.services.settings.finalize_grace_seconds + 1)
    ended = post_events(rig, session_id, ALICE)
    refused(ended, 409)
    assert ended.json.get("ended") is True
    refused(rig.api.post(f"/sessions/{session_id}/recording/events", ALICE, []), 409)
    refused(rig.chunk(session_id, b"more"), 409)
    assert events_of(rig, session_id) == [{"elapsed": 2, "event_type": "key"}, {"elapsed": 9, "event_type": "click"}]
    # the gateway's service token may still add what it has (a late flush, an import)
    assert rig.api.post(f"/sessions/{session_id}/recording/events", INGEST,
                        [{"elapsed": 11, "type": "move"}]).status_code == 200
    assert len(events_of(rig, session_id)) == 3
    assert rig.finalize(session_id).json["recordingState"] == "complete"  # finalizing again changes nothing


def test_an_owner_cannot_add_events_to_a_recording_the_sweep_timed_out(rig):
    session_id = rig.start("rdp")
    assert rig.chunk(session_id, pattern(100)).status_code == 200
    rig.clock.advance(rig.services.settings.idle_timeout_video_seconds + 60)
    rig.sweep()
    assert rig.session(session_id)["recordingState"] == "timed_out"
    refused(post_events(rig, session_id, ALICE), 409)
    assert events_of(rig, session_id) == []


# ---- a held session takes nothing from anyone ---------------------------------------------------------------


def test_nothing_is_appended_to_a_held_session_by_anyone(rig):
    session_id = rig.start("rdp")
    assert rig.chunk(session_id, pattern(100)).status_code == 200
    hold(rig, session_id)
    for response in (
        post_commands(rig, session_id, INGEST),
        post_events(rig, session_id, INGEST),
        post_events(rig, session_id, ALICE),
        rig.chunk(session_id, b"owner"),
        rig.chunk(session_id, b"service", token=INGEST),
        rig.chunk(session_id, b""),  # a keep-alive: chunks are not accepted
        post_commands(rig, session_id, INGEST, []),  # an empty flush learns what a full one would
        rig.api.post(f"/sessions/{session_id}/recording/events", ALICE, []),
    ):
        refused(response, 409)
        assert response.json.get("onHold") is True
    assert rig.chunk(session_id, b"x", token=BOB).status_code == 404  # held or not, not bob's to know
    assert commands_of(rig, session_id) == [] and events_of(rig, session_id) == []
    assert len(rig.staged(session_id)) == 1  # the refused chunks' staged objects are gone, the first stays
    indexed = rig.start("rdp")
    hold(rig, indexed)
    refused(rig.chunk(indexed, b"x", index=0), 409)
    release(rig, session_id)
    assert post_commands(rig, session_id, INGEST).status_code == 200
    assert rig.chunk(session_id, b"after").status_code == 200
    assert rig.finalize(session_id).status_code == 200
    assert rig.object(session_id) == pattern(100) + b"after"


class SeenBefore:
    """A session repository whose reads answer what they answered before a change (a hold, an end) that lands
    between the service's rights check and its write: the write's own condition must still stop it."""

    def __init__(self, real: SessionRepository[Session], session_id: str) -> None:
        self._seen = real.get(session_id)

    def get(self, session_id: str) -> Session | None:
        return self._seen


def test_a_hold_that_lands_after_the_check_still_stops_the_write(rig):
    session_id = rig.start("rdp")
    sessions = SessionRepository[Session](rig.table, keys.SESSION)
    stale = SeenBefore(sessions, session_id)
    hold(rig, session_id)
    service = AuditService(stale, AuditRepository(rig.table))  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="hold"):
        service.add_commands(ingest(), session_id, [Command(1, "ls", "")])
    with pytest.raises(Conflict, match="hold"):
        service.add_events(ingest(), session_id, [InputEvent(1, "key")])
    assert commands_of(rig, session_id) == [] and events_of(rig, session_id) == []


def test_an_end_that_lands_after_the_check_still_stops_the_owners_write(rig):
    session_id = rig.start("rdp")
    stale = SeenBefore(SessionRepository[Session](rig.table, keys.SESSION), session_id)
    assert rig.finalize(session_id).json["recordingState"] == "complete"
    rig.clock.advance(60)
    owner = Caller("alice", "alice", "user", frozenset({"sessions.view_own"}))
    service = AuditService(stale, AuditRepository(rig.table),  # type: ignore[arg-type]
                           clock=Clock(rig.clock),
                           finalize_grace_seconds=rig.services.settings.finalize_grace_seconds)
    with pytest.raises(Conflict, match="ended"):
        service.add_events(owner, session_id, [InputEvent(1, "key")])
    assert events_of(rig, session_id) == []


def test_a_large_command_batch_into_a_held_session_stores_none_of_it(rig):
    session_id = start_session(rig.api, ALICE, "ssh", "c1")
    hold(rig, session_id)
    batch = [{"elapsed": i, "command": f"cmd {i}"} for i in range(1000)]  # eleven transactions' worth
    refused(post_commands(rig, session_id, INGEST, batch), 409)
    assert commands_of(rig, session_id) == []
    release(rig, session_id)
    assert post_commands(rig, session_id, INGEST, batch).status_code == 200
    assert len(commands_of(rig, session_id)) == 1000


# ---- file sessions: the gateway's server writes them, and a file session keeps its owner ---------------------

FILE_BATCH = {"protocol": "sftp", "connectionId": "files-1"}


def file_events_of(rig: Rig, file_id: str) -> list[str]:
    return [e["path"] for e in rig.api.get(f"/file-sessions/{file_id}/events", ADMIN).json["events"]]


def send_files(rig: Rig, file_id: str, token: str, path: str, **owner: str) -> Any:
    return rig.api.post(f"/file-sessions/{file_id}/events", token,
                        {**FILE_BATCH, **owner, "events": [{"action": "upload", "path": path}]})


def test_a_user_cannot_take_a_file_session_id_before_the_gateway_writes_into_it(rig):
    # the reproduction: mallory created fs-X first, then read the activity the gateway wrote for alice
    refused(send_files(rig, "fs-X", BOB, "/bait"), 403)
    assert rig.api.get("/file-sessions/fs-X/events", ADMIN).status_code == 404  # nothing was created
    assert send_files(rig, "fs-X", INGEST, "/alice/payroll.xlsx", userId="alice", username="alice").status_code == 200
    assert rig.api.get("/file-sessions/fs-X/events", BOB).status_code == 404
    assert rig.api.get("/file-sessions/fs-X/events", ALICE).status_code == 200
    refused(send_files(rig, "fs-X", ALICE, "/alice/own.txt"), 403)  # not even its owner: the gateway writes them


def test_a_batch_naming_another_owner_than_the_file_session_has_is_409_and_stores_nothing(rig):
    assert send_files(rig, "fs-Y", INGEST, "/a", userId="alice", username="alice").status_code == 200
    before = rig.api.get("/file-sessions/fs-Y/export", ADMIN).json["session"]
    other = send_files(rig, "fs-Y", INGEST, "/bob/secret", userId="bob", username="bob")
    refused(other, 409)
    refused(send_files(rig, "fs-Y", INGEST, "/service/own"), 409)  # no userId: it names the service itself
    assert file_events_of(rig, "fs-Y") == ["/a"]
    after = rig.api.get("/file-sessions/fs-Y/export", ADMIN).json["session"]
    assert after == before  # owner, eventCount, endedAt unchanged
    rig.clock.advance(1)  # events without a timestamp are dated on arrival, and read back in time order
    assert send_files(rig, "fs-Y", INGEST, "/b", userId="alice", username="alice").status_code == 200
    assert file_events_of(rig, "fs-Y") == ["/a", "/b"]


class NotYetThere:
    """A file-session repository whose first read misses a file session another first batch created a moment
    later: the losing batch's create fails its condition and it must be checked against the winner's owner."""

    def __init__(self, real: SessionRepository[FileSession]) -> None:
        self._real = real
        self._reads = 0

    def get(self, session_id: str) -> FileSession | None:
        self._reads += 1
        return None if self._reads == 1 else self._real.get(session_id)

    def create(self, *args: Any, **kwargs: Any) -> FileSession:
        return self._real.create(*args, **kwargs)


def test_two_first_batches_naming_different_owners_give_the_file_session_one_owner(rig):
    assert send_files(rig, "fs-Z", INGEST, "/alice", userId="alice", username="alice").status_code == 200
    real = SessionRepository[FileSession](rig.table, keys.FILES)
    service = FileSessionService(NotYetThere(real), FileEventRepository(rig.table),  # type: ignore[arg-type]
                                 SettingsRepository(rig.table))
    batch = FileBatch("sftp", "files-1", (FileEvent("upload", "/bob"),), Owner("bob", "bob"))
    with pytest.raises(Conflict, match="another user"):
        service.add_events(ingest(), "fs-Z", batch)
    assert file_events_of(rig, "fs-Z") == ["/alice"]

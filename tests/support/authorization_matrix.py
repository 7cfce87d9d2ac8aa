"""The authorization matrix: every route x every kind of caller -> the status (and exposure) it must get.

ROWS is the one table. Each row says how to build a valid request for its route (aimed at a session owned by
"owner") and what each caller must get. A route in app.routes without a row fails
tests/api/test_authorization_matrix.py, so no route ships without its row. How to add one: docs/testing.md.

Callers: no token, a token signed with another key, the owner (role user), another user, and one token per
permission (sessions.view_any, sessions.delete, settings.manage, sessions.ingest), each holding only that one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from tests.support.clients import SECRET, make_token
from tests.support.hostile import CALLERS, Call, Expect, Row

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
# 404 and the owner's recording untouched (a refused write must not have happened anyway)
UNTOUCHED = Expect(404, reveals=False)
PLAYS = Expect(302, reveals=True)  # redirected to the owner's bytes
# refused by the write rules (docs/audit-records.md, "Who writes what"), and nothing stored
FORBIDDEN = Expect(403, reveals=False)  # the records' producer is another (a user token writing commands)
REFUSED = Expect(409, reveals=False)  # the session is on hold, or ended for its owner
ENDED_WAIT = 0.3  # longer than the matrix's finalize grace


def expect(authenticated: Expect | int, **cells: Expect | int) -> dict[str, Expect | int]:
    """401 for no token and a bad token, `authenticated` for every other caller, except the ones named."""
    table: dict[str, Expect | int] = {"none": 401, "bad": 401}
    table.update({caller: authenticated for caller in CALLERS if caller not in table})
    table.update(cells)
    return table


@dataclass
class World:
    """What one cell acts on: a fresh session owned by OWNER, a connection, and an admin's eyes to check with.

    Rows that read records seed them first (with_audit_records, with_file_session), so a 200 can be told from a
    200 that shows the owner's records."""

    api: Any
    session_id: str
    connection_id: str = "conn-matrix"
    file_session_id: str = ""

    def owner_of(self, session_id: str | None) -> str | None:
        if session_id is None:
            return None
        return self.api.get(f"/sessions/{session_id}", ADMIN).json["userId"]

    def with_audit_records(self) -> World:
        """A command and an input event in the owner's session."""
        for path, body in (("commands", [SEED_COMMAND]), ("recording/events", [SEED_INPUT_EVENT])):
            sent = self.api.post(f"/sessions/{self.session_id}/{path}", ADMIN, body)
            assert sent.status_code == 200, sent.body
        return self

    def with_file_session(self) -> World:
        """A file session of the owner's (created by an ingest token on the owner's behalf), one event in it."""
        self.file_session_id = "fs-" + self.session_id
        sent = self.api.post(f"/file-sessions/{self.file_session_id}/events", ADMIN,
                             {**FILE_BATCH, "events": [SEED_FILE_EVENT]})
        assert sent.status_code == 200, sent.body
        return self

    def in_rdp(self) -> World:
        """The cell acts on a new RDP session of the owner's instead (the owner's browser records RDP/VNC)."""
        started = self.api.post("/sessions/rdp-session", ADMIN,
                                {"connectionId": self.connection_id, "userId": OWNER, "username": OWNER})
        assert started.status_code == 200 and started.json["sessionId"], started.body
        self.session_id = started.json["sessionId"]
        return self

    def held(self) -> World:
        """The session on legal hold: nothing is appended to it, by anyone."""
        assert self.api.put(f"/sessions/{self.session_id}/hold", ADMIN, content_type=None).status_code == 200
        return self

    def ended(self) -> World:
        """The recording finalized and finalize's grace period over: its owner appends nothing more. (The matrix
        runs with a grace of 0.05 s: test_authorization_matrix.py's quick_finalize.)"""
        self.finalize()
        time.sleep(ENDED_WAIT)
        return self

    def new_file_session(self) -> str:
        """An id no file session has yet (the first batch into it creates it)."""
        self.file_session_id = "fs-new-" + self.session_id
        return self.file_session_id

    def stored_commands(self) -> list[str]:
        return [c["command"] for c in self.api.get(f"/sessions/{self.session_id}/commands", ADMIN).json["commands"]]

    def stored_input_events(self) -> list[dict[str, Any]]:
        return self.api.get(f"/sessions/{self.session_id}/recording/events", ADMIN).json["events"]

    def stored_file_paths(self) -> list[str]:
        response = self.api.get(f"/file-sessions/{self.file_session_id}/events", ADMIN)
        if response.status_code == 404:  # a refused first batch created nothing
            return []
        return [e["path"] for e in response.json["events"]]

    def file_session_owner(self) -> str:
        return self.api.get(f"/file-sessions/{self.file_session_id}/export", ADMIN).json["session"]["userId"]

    def with_recording(self, complete: bool) -> World:
        """The owner's chunk in the session's recording (sent by an ingest token), finalized if `complete`."""
        sent = self.api.post(f"/sessions/{self.session_id}/recording/chunk", ADMIN, OWNER_CHUNK, content_type=OCTETS)
        assert sent.status_code == 200, sent.body
        if complete:
            self.finalize()
        return self

    def finalize(self) -> None:
        done = self.api.post(f"/sessions/{self.session_id}/recording/finalize", ADMIN, None)
        assert done.status_code == 200 and done.json["recordingState"] == "complete", done.body

    def recording_state(self) -> str:
        return str(self.api.get(f"/sessions/{self.session_id}", ADMIN).json["recordingState"])

    def recorded_bytes(self) -> bytes | None:
        """The finished recording as the admin downloads it (finalizing it first), None if it holds no byte."""
        if self.recording_state() in ("recording", "finalizing"):
            self.finalize()
        return played_bytes(self.api.get(f"/sessions/{self.session_id}/recording", ADMIN))


OCTETS = "application/octet-stream"
# EBML magic first, as a WebM chunk starts; the rest tells the owner's bytes from a caller's
OWNER_CHUNK = b"\x1a\x45\xdf\xa3owner-recorded-this"
NEW_CHUNK = b"\x1a\x45\xdf\xa3caller-sent-this"


def played_bytes(response: Any) -> bytes | None:
    """What a playback answer leads to: the bytes behind its 302 Location (or its `?redirect=false` URL), fetched
    from S3 (moto in process answers presigned URLs); None for any other answer."""
    if response.status_code == 302:
        url = response.headers["Location"]
    elif response.status_code == 200 and response.json and "url" in response.json:
        url = response.json["url"]
    else:
        return None
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200, fetched.text
    return fetched.content


def lists_owners_session(response: Any, world: World) -> bool:
    return world.session_id in [s["id"] for s in response.json["sessions"]]


def created_for_owner(response: Any, world: World) -> bool:
    """A start body names userId OWNER: only the owner and an ingest token may end up with OWNER's session."""
    return world.owner_of(response.json["sessionId"]) == OWNER


START_BODY = {"protocol": "ssh", "connectionId": "conn-matrix", "userId": OWNER, "username": OWNER}
# Audit records: what the world seeds (the owner's) and what the write rows send (a caller's new record).
SEED_COMMAND = {"elapsed": 1.5, "command": "owner-typed-this"}
NEW_COMMAND = {"elapsed": 3, "command": "caller-typed-this"}
SEED_INPUT_EVENT = {"elapsed": 2, "type": "key"}
NEW_INPUT_EVENT = {"elapsed": 4, "type": "click"}
SEED_FILE_EVENT = {"action": "download", "path": "/owner/secret.txt"}
NEW_FILE_EVENT = {"action": "upload", "path": "/caller/added.txt"}
# names OWNER: only an ingest token may create a file session on the owner's behalf; anyone else's is their own
FILE_BATCH = {"protocol": "sftp", "connectionId": "conn-matrix", "userId": OWNER, "username": OWNER}


def shows_owners_commands(response: Any, world: World) -> bool:
    return SEED_COMMAND["command"] in [c["command"] for c in response.json["commands"]]


def shows_owners_input_events(response: Any, world: World) -> bool:
    return {"elapsed": SEED_INPUT_EVENT["elapsed"], "event_type": SEED_INPUT_EVENT["type"]} in response.json["events"]


def lists_owners_file_session(response: Any, world: World) -> bool:
    return world.file_session_id in [s["id"] for s in response.json["sessions"]]


def shows_owners_file_events(response: Any, world: World) -> bool:
    return SEED_FILE_EVENT["path"] in [e["path"] for e in response.json["events"]]


def exports_owners_file_session(response: Any, world: World) -> bool:
    return response.json["session"]["id"] == world.file_session_id and shows_owners_file_events(response, world)


def stored_command(response: Any, world: World) -> bool:
    return NEW_COMMAND["command"] in world.stored_commands()


def stored_input_event(response: Any, world: World) -> bool:
    return {"elapsed": NEW_INPUT_EVENT["elapsed"], "event_type": NEW_INPUT_EVENT["type"]} in world.stored_input_events()


def stored_file_event(response: Any, world: World) -> bool:
    return NEW_FILE_EVENT["path"] in world.stored_file_paths()


def file_session_created_for_owner(response: Any, world: World) -> bool:
    return stored_file_event(response, world) and world.file_session_owner() == OWNER


def stored_chunk(response: Any, world: World) -> bool:
    return world.recorded_bytes() == NEW_CHUNK


def finalized_owners_recording(response: Any, world: World) -> bool:
    return world.recording_state() == "complete"


def plays_owners_recording(response: Any, world: World) -> bool:
    return played_bytes(response) == OWNER_CHUNK


def counts_owners_recording(response: Any, world: World) -> bool:
    return int(response.json["bytes"]) >= len(OWNER_CHUNK)


def storage_total(world: World) -> Call:
    world.with_recording(complete=False)
    return Call("GET", "/sessions/storage", content_type=None)


def listing_file_sessions(world: World) -> Call:
    world.with_file_session()
    return Call("GET", "/file-sessions")


ROWS: list[Row] = [
    Row("GET", "/", lambda w: Call("GET", "/", content_type=None),
        expect(200, none=200, bad=200), note="public: the viewer's page, which signs in by itself"),
    Row("GET", "/openapi.yaml", lambda w: Call("GET", "/openapi.yaml", content_type=None),
        expect(200, none=200, bad=200), note="public: the API document"),
    Row("GET", "/viewer/{name}", lambda w: Call("GET", "/viewer/viewer.js", content_type=None),
        expect(200, none=200, bad=200), note="public: the viewer's pages call the API with the cookie themselves"),
    Row("GET", "/viewer/vendor/{name}", lambda w: Call("GET", "/viewer/vendor/asciinema-player.css", content_type=None),
        expect(200, none=200, bad=200), note="public: the player's files"),
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
    Row("GET", "/health", lambda w: Call("GET", "/health"), expect(403, manage=200),
        note="the deployment's configuration is for those who manage it"),
    Row("PUT", "/settings/recording", lambda w: Call("PUT", "/settings/recording", {"enabled": True}),
        expect(403, manage=200)),
    Row("PUT", "/connections/{connection_id}",
        lambda w: Call("PUT", f"/connections/{w.connection_id}", {"name": "matrix", "recordingEnabled": True}),
        expect(403, manage=200)),
    # audit records (docs/audit-records.md, "Who writes what"): reading needs ownership or view_any; writing
    # follows who produces the record: commands and file events the gateway's server (ingest), input events the
    # owner's browser too, while its recording is open; a held session takes nothing from anyone
    Row("POST", "/sessions/{session_id}/commands",
        lambda w: Call("POST", f"/sessions/{w.session_id}/commands", [NEW_COMMAND]),
        expect(FORBIDDEN, ingest=SEES), reveals=stored_command,
        note="the SSH proxy logs commands: a user token is 403, its own session included"),
    Row("POST", "/sessions/{session_id}/commands",
        lambda w: Call("POST", f"/sessions/{w.ended().session_id}/commands", [NEW_COMMAND]),
        expect(FORBIDDEN, ingest=SEES), reveals=stored_command, case="a finished session",
        note="the gateway's server may still add what it has (a late flush, an import)"),
    Row("POST", "/sessions/{session_id}/commands",
        lambda w: Call("POST", f"/sessions/{w.held().session_id}/commands", [NEW_COMMAND]),
        expect(FORBIDDEN, ingest=REFUSED), reveals=stored_command, case="a held session"),
    Row("GET", "/sessions/{session_id}/commands",
        lambda w: Call("GET", f"/sessions/{w.with_audit_records().session_id}/commands"),
        expect(404, owner=SEES, view_any=SEES), reveals=shows_owners_commands,
        note="ingest writes but cannot read someone else's records"),
    Row("POST", "/sessions/{session_id}/recording/events",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().session_id}/recording/events", [NEW_INPUT_EVENT]),
        expect(UNTOUCHED, owner=SEES, ingest=SEES), reveals=stored_input_event, case="an open RDP session",
        note="the owner's browser sends them; 404 for the rest: never reveal that a session exists"),
    Row("POST", "/sessions/{session_id}/recording/events",
        lambda w: Call("POST", f"/sessions/{w.session_id}/recording/events", [NEW_INPUT_EVENT]),
        expect(UNTOUCHED, owner=FORBIDDEN, ingest=SEES), reveals=stored_input_event, case="an SSH session",
        note="no browser records an SSH session: the gateway's server alone writes into it"),
    Row("POST", "/sessions/{session_id}/recording/events",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().ended().session_id}/recording/events", [NEW_INPUT_EVENT]),
        expect(UNTOUCHED, owner=REFUSED, ingest=SEES), reveals=stored_input_event, case="a finished RDP session",
        note="once the recording closed (and finalize's grace passed) its owner adds nothing"),
    Row("POST", "/sessions/{session_id}/recording/events",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().held().session_id}/recording/events", [NEW_INPUT_EVENT]),
        expect(UNTOUCHED, owner=REFUSED, ingest=REFUSED), reveals=stored_input_event, case="a held RDP session"),
    Row("GET", "/sessions/{session_id}/recording/events",
        lambda w: Call("GET", f"/sessions/{w.with_audit_records().session_id}/recording/events"),
        expect(404, owner=SEES, view_any=SEES), reveals=shows_owners_input_events),
    Row("GET", "/file-sessions", listing_file_sessions,
        expect(BLIND, owner=SEES, view_any=SEES), reveals=lists_owners_file_session),
    Row("POST", "/file-sessions/{session_id}/events",
        lambda w: Call("POST", f"/file-sessions/{w.with_file_session().file_session_id}/events",
                       {**FILE_BATCH, "events": [NEW_FILE_EVENT]}),
        expect(FORBIDDEN, ingest=SEES), reveals=stored_file_event, case="the owner's file session",
        note="the gateway's file browsers log file events: a user token is 403, its own file session included"),
    Row("POST", "/file-sessions/{session_id}/events",
        lambda w: Call("POST", f"/file-sessions/{w.new_file_session()}/events",
                       {**FILE_BATCH, "events": [NEW_FILE_EVENT]}),
        expect(FORBIDDEN, ingest=SEES), reveals=file_session_created_for_owner, case="a new id",
        note="the first batch creates the file session, for the user it names; a user token creates none"),
    Row("POST", "/file-sessions/{session_id}/events",
        lambda w: Call("POST", f"/file-sessions/{w.with_file_session().file_session_id}/events",
                       {**FILE_BATCH, "userId": "mallory", "username": "mallory", "events": [NEW_FILE_EVENT]}),
        expect(FORBIDDEN, ingest=REFUSED), reveals=stored_file_event, case="naming another owner",
        note="a file session keeps the owner its first batch named: 409, nothing stored"),
    Row("GET", "/file-sessions/{session_id}/events",
        lambda w: Call("GET", f"/file-sessions/{w.with_file_session().file_session_id}/events"),
        expect(404, owner=SEES, view_any=SEES), reveals=shows_owners_file_events),
    Row("GET", "/file-sessions/{session_id}/export",
        lambda w: Call("GET", f"/file-sessions/{w.with_file_session().file_session_id}/export?format=json"),
        expect(404, owner=SEES, view_any=SEES), reveals=exports_owners_file_session),
    # recordings (docs/recordings.md): chunks and finalize write (ownership or ingest), playback reads (ownership
    # or view_any), the storage total is a setting's business (settings.manage)
    Row("POST", "/sessions/{session_id}/recording/chunk",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().session_id}/recording/chunk", NEW_CHUNK, content_type=OCTETS),
        expect(UNTOUCHED, owner=SEES, ingest=SEES), reveals=stored_chunk, case="an open RDP session",
        note="the probe finalizes and downloads: the recording is exactly the chunk, or (refused) holds nothing"),
    Row("POST", "/sessions/{session_id}/recording/chunk",
        lambda w: Call("POST", f"/sessions/{w.session_id}/recording/chunk", NEW_CHUNK, content_type=OCTETS),
        expect(UNTOUCHED, owner=FORBIDDEN, ingest=SEES), reveals=stored_chunk, case="an SSH session",
        note="the SSH proxy writes the cast"),
    Row("POST", "/sessions/{session_id}/recording/chunk",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().ended().session_id}/recording/chunk", NEW_CHUNK,
                       content_type=OCTETS),
        expect(UNTOUCHED, owner=REFUSED, ingest=REFUSED), reveals=stored_chunk, case="a finished RDP session"),
    Row("POST", "/sessions/{session_id}/recording/chunk",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().held().session_id}/recording/chunk", NEW_CHUNK,
                       content_type=OCTETS),
        expect(UNTOUCHED, owner=REFUSED, ingest=REFUSED), reveals=stored_chunk, case="a held RDP session"),
    Row("POST", "/sessions/{session_id}/recording/finalize",
        lambda w: Call("POST", f"/sessions/{w.in_rdp().with_recording(complete=False).session_id}/recording/finalize",
                       content_type=None),
        expect(UNTOUCHED, owner=SEES, ingest=SEES), reveals=finalized_owners_recording, case="an RDP session",
        note="a refused finalize leaves the owner's recording open"),
    Row("POST", "/sessions/{session_id}/recording/finalize",
        lambda w: Call("POST", f"/sessions/{w.with_recording(complete=False).session_id}/recording/finalize",
                       content_type=None),
        expect(UNTOUCHED, owner=FORBIDDEN, ingest=SEES), reveals=finalized_owners_recording, case="an SSH session",
        note="the SSH proxy closes its cast"),
    Row("GET", "/sessions/{session_id}/recording",
        lambda w: Call("GET", f"/sessions/{w.with_recording(complete=True).session_id}/recording",
                       content_type=None),
        expect(404, owner=PLAYS, view_any=PLAYS), reveals=plays_owners_recording, case="complete",
        note="the 302's Location serves exactly the owner's bytes; ingest writes but cannot play"),
    Row("GET", "/sessions/{session_id}/recording",
        lambda w: Call("GET", f"/sessions/{w.with_recording(complete=False).session_id}/recording",
                       content_type=None),
        expect(404, owner=409, view_any=409), case="still recording",
        note="409 only to those who may see it: to the rest the session does not exist"),
    Row("GET", "/sessions/storage",
        storage_total, expect(403, manage=SEES), reveals=counts_owners_recording),
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
    Row("PUT", "/file-sessions/{session_id}/hold",
        lambda w: Call("PUT", f"/file-sessions/{owners_file_session(w)}/hold", content_type=None),
        expect(403, delete=200), note="as a session's hold: sessions.delete alone, ownership gives nothing"),
    Row("DELETE", "/file-sessions/{session_id}/hold",
        lambda w: Call("DELETE", f"/file-sessions/{owners_file_session(w)}/hold", content_type=None),
        expect(403, delete=200)),
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

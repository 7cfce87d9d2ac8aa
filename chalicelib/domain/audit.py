"""Audit records: what was typed (SSH commands), clicked (RDP input events) and transferred (file sessions).

Batches arrive validated (chalicelib/api/batches.py). Each is named by a digest of its content, and every record
of it is keyed by that digest: a gateway retrying a batch rewrites the same records instead of adding copies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import access
from chalicelib.domain.access import Caller, Writer
from chalicelib.domain.sessions import GENERATION_ATTEMPTS, Clock, Owner, connection_name, iso, owner_for_write, utc_now
from chalicelib.errors import Conflict, NotFound, Unavailable
from chalicelib.model.audit import AppendGuard, AppendRefusal, CommandRecord, Elapsed, FileEventRecord, InputEvent
from chalicelib.model.sessions import FileSession, Session
from chalicelib.store.audit import AppendRefused, AuditRepository, FileEventRepository
from chalicelib.store.dynamo import ConditionFailed
from chalicelib.store.sessions import GenerationMoved, SessionRepository
from chalicelib.store.settings_store import SettingsRepository

INPUT_EVENT_TYPES = ("click", "key", "move")
FILE_ACTIONS = ("browse", "download", "upload", "mkdir", "delete", "rename", "chmod", "copy")


@dataclass(frozen=True)
class Command:
    elapsed: Elapsed
    command: str
    output_preview: str
    timestamp: str | None = None


@dataclass(frozen=True)
class FileEvent:
    action: str
    path: str
    detail: Any = None  # a JSON object, a string, or None
    timestamp: str | None = None


@dataclass(frozen=True)
class FileBatch:
    protocol: str
    connection_id: str
    events: tuple[FileEvent, ...]
    on_behalf: Owner | None = None


def batch_digest(content: Any) -> str:
    """16 hex digits naming a batch by its content (json.dumps keeps 1 and 1.0 apart, as the records do)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def refused(refusal: AppendRefusal, what: str = "session") -> Exception:
    """The answer to an append a session's state refused (docs/audit-records.md, "Who writes what")."""
    if refusal == AppendRefusal.HELD:
        return Conflict(f"the {what} is on legal hold: nothing may be added to it", onHold=True)
    if refusal == AppendRefusal.ENDED:
        return Conflict(f"the {what} has ended: its owner may add nothing more to it", ended=True)
    return NotFound(f"{what} not found")


class AuditService:
    """SSH commands and RDP input events of a session created by POST /sessions."""

    def __init__(self, sessions: SessionRepository[Session], records: AuditRepository,
                 clock: Clock = utc_now, finalize_grace_seconds: float = 0) -> None:
        self._sessions = sessions
        self._records = records
        self._clock = clock
        self._grace_ms = int(finalize_grace_seconds * 1000)

    def _guard(self, caller: Caller, session_id: str) -> AppendGuard:
        """The guard of a browser-made append (input events): any session for the service; for the owner of an
        RDP/VNC session, its recording while open or within the finalize grace period (checked with the write)."""
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFound("session not found")
        if access.browser_writer(caller, session.user_id, session.protocol) == Writer.SERVICE:
            return AppendGuard()
        now_ms = int(self._clock().timestamp() * 1000)
        return AppendGuard(owner=caller.user_id, finalized_since_ms=now_ms - self._grace_ms)

    def _readable(self, caller: Caller, session_id: str) -> None:
        access.readable(caller, self._sessions.get(session_id))

    def add_commands(self, caller: Caller, session_id: str, commands: Sequence[Command]) -> None:
        """The gateway's SSH proxy logs commands: sessions.ingest only (403 before anything is looked up)."""
        access.require(caller, access.INGEST)
        if self._sessions.get(session_id) is None:
            raise NotFound("session not found")
        batch = batch_digest([[c.elapsed, c.command, c.output_preview, c.timestamp] for c in commands])
        received = iso(self._clock())
        try:
            self._records.put_commands(session_id, batch, [
                # the gateway's time when it sends one; else when the service received the batch
                CommandRecord(f"cmd_{batch}{index:04d}", command.timestamp or received, command.elapsed,
                              command.command, command.output_preview)
                for index, command in enumerate(commands)
            ])
        except AppendRefused as refusal:
            raise refused(refusal.reason) from None

    def commands(self, caller: Caller, session_id: str) -> list[CommandRecord]:
        self._readable(caller, session_id)
        return self._records.commands(session_id)

    def add_events(self, caller: Caller, session_id: str, events: Sequence[InputEvent]) -> None:
        guard = self._guard(caller, session_id)
        batch = batch_digest([list(event) for event in events])
        try:
            self._records.put_events(session_id, batch, sorted(events, key=_elapsed_of), guard)
        except AppendRefused as refusal:
            raise refused(refusal.reason) from None

    def events(self, caller: Caller, session_id: str) -> list[InputEvent]:
        """Every input event, in elapsed order (equal elapsed: the order they were sent in)."""
        self._readable(caller, session_id)
        return sorted(self._records.events(session_id), key=_elapsed_of)


def _elapsed_of(event: InputEvent) -> Elapsed:
    return event[0]


class FileSessionService:
    """File-transfer sessions: created by their first batch of events, read and exported whole."""

    def __init__(
        self,
        sessions: SessionRepository[FileSession],
        records: FileEventRepository,
        settings: SettingsRepository,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._records = records
        self._settings = settings
        self._clock = clock

    def add_events(self, caller: Caller, session_id: str, batch: FileBatch) -> None:
        """The gateway's file browsers log file events: sessions.ingest only (403 before anything is looked up).
        A file session's owner is fixed by the batch that created it: a batch naming another owner is 409 and
        stores nothing (else one user's activity could land in a file session another user reads)."""
        access.require(caller, access.INGEST)
        received = iso(self._clock())
        times = [event.timestamp or received for event in batch.events]
        session = self._sessions.get(session_id)
        if session is None:
            session = self._create(caller, session_id, batch, min(times))
        owner = owner_for_write(caller, batch.on_behalf)
        if owner.user_id != session.user_id:
            raise Conflict("this file session belongs to another user: a batch cannot give it a new owner")
        digest = batch_digest([[e.action, e.path, e.detail, e.timestamp] for e in batch.events])
        self._records.put_events(session_id, digest, [
            FileEventRecord(f"evt_{digest}{index:04d}", timestamp, event.action, event.path, event.detail, received)
            for index, (event, timestamp) in enumerate(zip(batch.events, times, strict=True))
        ])
        # counted after the events are stored: a batch that failed half-way is counted by its retry, once
        self._records.count_batch(session_id, digest, len(batch.events))
        self._records.move_end(session_id, max(times))

    def _create(self, caller: Caller, session_id: str, batch: FileBatch, started_at: str) -> FileSession:
        owner = owner_for_write(caller, batch.on_behalf)
        for attempt in range(GENERATION_ATTEMPTS):
            _, connection, gen = self._settings.recording_and_connection(batch.connection_id, consistent=attempt > 0)
            new = FileSession(
                id=session_id, user_id=owner.user_id, username=owner.username, protocol=batch.protocol,
                connection_id=batch.connection_id, connection_name=connection_name(connection, batch.connection_id),
                started_at=started_at, event_count=0,
            )
            try:
                return self._sessions.create(new, {"fileSessions": 1}, gen=gen)
            except GenerationMoved:
                continue
            except ConditionFailed:
                # another first batch created it a moment ago: it decides the owner (a purged or deleted one
                # keeps its id until the background deletion has removed it: 404 until then)
                existing = self._sessions.get(session_id)
                if existing is None:
                    raise NotFound("file session not found") from None
                return existing
        raise Unavailable("a purge is in progress, retry")

    def session(self, caller: Caller, session_id: str) -> FileSession:
        return access.readable(caller, self._sessions.get(session_id), "file session")

    def events(self, caller: Caller, session_id: str) -> tuple[FileSession, list[FileEventRecord]]:
        """The session and its events in time order (equal times: by arrival, then as sent)."""
        session = self.session(caller, session_id)
        events = self._records.events(session_id)
        events.sort(key=lambda e: (e.timestamp, e.received_at, e.id))
        return session, events

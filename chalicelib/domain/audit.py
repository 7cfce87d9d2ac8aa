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
from chalicelib.domain.access import Caller
from chalicelib.domain.sessions import (
    GENERATION_ATTEMPTS,
    NO_BACKFILL,
    Backfill,
    Owner,
    checked_backfill,
    connection_name,
    owner_for_write,
)
from chalicelib.errors import BadRequest, NotFound, Unavailable
from chalicelib.model.audit import CommandRecord, Elapsed, FileEventRecord, InputEvent
from chalicelib.model.clock import SYSTEM_CLOCK, Clock, iso
from chalicelib.model.sessions import Cursor, FileSession, ListQuery, Page, Session
from chalicelib.store.audit import AuditRepository, FileEventRepository
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
    backfill: Backfill = NO_BACKFILL  # the session's startedAt / endedAt, when an importer gives them


def batch_digest(content: Any) -> str:
    """16 hex digits naming a batch by its content (json.dumps keeps 1 and 1.0 apart, as the records do)."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class AuditService:
    """SSH commands and RDP input events of a session created by POST /sessions."""

    def __init__(self, sessions: SessionRepository[Session], records: AuditRepository,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self._sessions = sessions
        self._records = records
        self._clock = clock

    def _writable(self, caller: Caller, session_id: str) -> None:
        access.writable(caller, self._sessions.get(session_id))

    def _readable(self, caller: Caller, session_id: str) -> None:
        access.readable(caller, self._sessions.get(session_id))

    def add_commands(self, caller: Caller, session_id: str, commands: Sequence[Command]) -> None:
        self._writable(caller, session_id)
        if not commands:
            return
        batch = batch_digest([[c.elapsed, c.command, c.output_preview, c.timestamp] for c in commands])
        received = self._clock.iso_now()
        self._records.put_commands(session_id, batch, [
            # the gateway's time when it sends one; else when the service received the batch
            CommandRecord(f"cmd_{batch}{index:04d}", command.timestamp or received, command.elapsed, command.command,
                          command.output_preview)
            for index, command in enumerate(commands)
        ])

    def commands(self, caller: Caller, session_id: str) -> list[CommandRecord]:
        self._readable(caller, session_id)
        return self._records.commands(session_id)

    def add_events(self, caller: Caller, session_id: str, events: Sequence[InputEvent]) -> None:
        self._writable(caller, session_id)
        if not events:
            return
        batch = batch_digest([list(event) for event in events])
        self._records.put_events(session_id, batch, sorted(events, key=_elapsed_of))

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
        clock: Clock = SYSTEM_CLOCK,
        retention_days: int = 365,
    ) -> None:
        self._sessions = sessions
        self._records = records
        self._settings = settings
        self._clock = clock
        self._retention_days = retention_days  # AUDIT_RETENTION_DAYS: how old a back-filled start may be

    def page(self, query: ListQuery, limit: int, skip: int, start_key: Cursor | None) -> Page[FileSession]:
        return self._sessions.page(query, limit=limit, skip=skip, start_key=start_key)

    def current_generation(self) -> int:
        return self._sessions.current_generation()

    def add_events(self, caller: Caller, session_id: str, batch: FileBatch) -> None:
        now = self._clock.utc()
        backfill = checked_backfill(caller, batch.backfill, now, self._retention_days)
        received = iso(now)
        times = [event.timestamp or received for event in batch.events]
        _within(backfill, times)
        session = self._sessions.get(session_id)
        if session is None:  # the first batch creates it: startedAt dates it (later batches' startedAt is unused)
            session = self._create(caller, session_id, batch, backfill.started_at or min(times))
        access.writable(caller, session, "file session")
        digest = batch_digest([[e.action, e.path, e.detail, e.timestamp] for e in batch.events])
        self._records.put_events(session_id, digest, [
            FileEventRecord(f"evt_{digest}{index:04d}", timestamp, event.action, event.path, event.detail, received)
            for index, (event, timestamp) in enumerate(zip(batch.events, times, strict=True))
        ])
        # counted after the events are stored: a batch that failed half-way is counted by its retry, once
        self._records.count_batch(session_id, digest, len(batch.events))
        self._records.move_end(session_id, max([*times, backfill.ended_at or ""]))

    def _create(self, caller: Caller, session_id: str, batch: FileBatch, started_at: str) -> FileSession:
        """The file session of a first batch, or the one another first batch created a moment ago."""
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


def _within(backfill: Backfill, times: list[str]) -> None:
    """A back-filled batch's events lie between its startedAt and endedAt (an event without a timestamp is dated
    when it arrived, so a batch ended in the past must date every event)."""
    if backfill.started_at is not None and min(times) < backfill.started_at:
        raise BadRequest("an event's timestamp is before startedAt")
    if backfill.ended_at is not None and max(times) > backfill.ended_at:
        raise BadRequest("an event's timestamp is after endedAt (events without one are dated on arrival)")

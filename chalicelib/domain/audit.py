"""Audit records: what was typed (SSH commands), clicked (RDP input events) and transferred (file sessions).

Batches arrive validated (chalicelib/api/batches.py). Each is named by a digest of its content, and every record
of it is keyed by that digest: a gateway retrying a batch rewrites the same records instead of adding copies.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import access
from chalicelib.domain.access import Caller, Writer
from chalicelib.domain.sessions import (
    GENERATION_ATTEMPTS,
    NO_BACKFILL,
    Backfill,
    Owner,
    checked_backfill,
    connection_name,
    owner_for_write,
)
from chalicelib.errors import BadRequest, Conflict, NotFound, Unavailable
from chalicelib.model.audit import AppendGuard, AppendRefusal, CommandRecord, Elapsed, FileEventRecord, InputEvent
from chalicelib.model.clock import SYSTEM_CLOCK, Clock, iso
from chalicelib.model.sessions import Cursor, FileSession, ListQuery, Page, Session
from chalicelib.store.audit import AppendRefused, AuditRepository, FileEventRepository, OverLimit
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


@dataclass(frozen=True)
class AuditLimits:
    """What one session may hold (docs/audit-records.md): far above what a real session records, low enough to
    bound what a session costs to store and to read back. A batch that would pass one is refused whole (409)."""

    commands: int = 100_000  # per session
    input_events: int = 2_000_000  # per session
    file_events: int = 100_000  # per file session


def _full(what: str, over: OverLimit) -> Conflict:
    return Conflict(f"the {what} limit is reached: {over.stored:,} stored, at most {over.limit:,} kept",
                    stored=over.stored, limit=over.limit)


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
                 clock: Clock = SYSTEM_CLOCK, limits: AuditLimits | None = None,
                 finalize_grace_seconds: float = 0) -> None:
        self._sessions = sessions
        self._records = records
        self._clock = clock
        self.limits = limits or AuditLimits()
        self._grace_ms = int(finalize_grace_seconds * 1000)

    def _guard(self, caller: Caller, session_id: str) -> AppendGuard:
        """The guard of a browser-made append (input events): any session for the service; for the owner of an
        RDP/VNC session, its recording while open or within the finalize grace period (checked with the write)."""
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFound("session not found")
        if access.browser_writer(caller, session.user_id, session.protocol) == Writer.SERVICE:
            return AppendGuard()
        now_ms = self._clock.now_ms()
        return AppendGuard(owner=caller.user_id, finalized_since_ms=now_ms - self._grace_ms)

    def _readable(self, caller: Caller, session_id: str) -> None:
        access.readable(caller, self._sessions.get(session_id))

    def add_commands(self, caller: Caller, session_id: str, commands: Sequence[Command]) -> None:
        """The gateway's SSH proxy logs commands: sessions.ingest only (403 before anything is looked up)."""
        access.require(caller, access.INGEST)
        if self._sessions.get(session_id) is None:
            raise NotFound("session not found")
        batch = batch_digest([[c.elapsed, c.command, c.output_preview, c.timestamp] for c in commands])
        received = self._clock.iso_now()
        try:
            self._records.put_commands(session_id, batch, [
                # the gateway's time when it sends one; else when the service received the batch
                CommandRecord(f"cmd_{batch}{index:04d}", command.timestamp or received, command.elapsed,
                              command.command, command.output_preview)
                for index, command in enumerate(commands)
            ], self.limits.commands, marked_at=received)
        except OverLimit as over:
            raise _full("session's commands", over) from None
        except AppendRefused as refusal:
            raise refused(refusal.reason) from None

    def commands(self, caller: Caller, session_id: str) -> Iterator[CommandRecord]:
        """Every command by elapsed, read as it is consumed (the rights are checked at once)."""
        self._readable(caller, session_id)
        return self._records.commands(session_id)

    def commands_page(self, caller: Caller, session_id: str, limit: int,
                      cursor: Cursor | None) -> tuple[list[CommandRecord], Cursor | None]:
        self._readable(caller, session_id)
        return self._records.commands_page(session_id, limit, cursor)

    def add_events(self, caller: Caller, session_id: str, events: Sequence[InputEvent]) -> None:
        guard = self._guard(caller, session_id)
        batch = batch_digest([list(event) for event in events])
        try:
            self._records.put_events(session_id, batch, sorted(events, key=_elapsed_of), self.limits.input_events,
                                     guard)
        except OverLimit as over:
            raise _full("session's input events", over) from None
        except AppendRefused as refusal:
            raise refused(refusal.reason) from None

    def events(self, caller: Caller, session_id: str) -> Iterator[InputEvent]:
        """Every input event, in elapsed order (equal elapsed: the order they were sent in), read as consumed:
        one group of overlapping packs in memory at a time."""
        self._readable(caller, session_id)
        return (event for _, group in event_groups(self._records.event_packs(session_id)) for event in group)

    def events_page(self, caller: Caller, session_id: str, limit: int,
                    cursor: Cursor | None) -> tuple[list[InputEvent], Cursor | None]:
        """Up to `limit` events in the order `events` gives them, from `cursor` (a group's first pack and how many
        of the group were given); the cursor of the next page, None on the last."""
        self._readable(caller, session_id)
        start = str(cursor["at"]) if cursor else None
        groups = event_groups(self._records.event_packs(session_id, start))
        page: list[InputEvent] = []
        offset = int(cursor.get("skip", 0)) if cursor else 0
        for key, group in groups:
            if key != start:
                offset = 0  # the cursor's group is gone (expired meanwhile): the next group is read whole
            taken = group[offset:offset + limit - len(page)]
            page.extend(taken)
            if len(page) == limit:
                if offset + len(taken) < len(group):
                    return page, {"at": key, "skip": str(offset + len(taken))}
                following = next(groups, None)
                return page, ({"at": following[0], "skip": "0"} if following else None)
            start = None
        return page, None


def event_groups(packs: Iterable[tuple[str, list[InputEvent]]]) -> Iterator[tuple[str, list[InputEvent]]]:
    """Packs (in key order: by first elapsed) joined into groups whose elapsed ranges overlap, each sorted
    (stable: equal elapsed keep the packs' order): every event of a later group is at or after every event of an
    earlier one, so the groups one after the other are the session's events sorted, as a whole sort gives them.
    A group is one pack unless flushes overlap in time. Yields each group's first pack key and its events."""
    key = ""
    group: list[InputEvent] = []
    high: Elapsed = 0
    for sk, events in packs:
        if not events:
            continue
        if group and min(e.elapsed for e in events) >= high:
            yield key, sorted(group, key=_elapsed_of)
            group = []
        if not group:
            key, high = sk, events[0].elapsed
        group.extend(events)
        high = max(high, max(e.elapsed for e in events))
    if group:
        yield key, sorted(group, key=_elapsed_of)


def _elapsed_of(event: InputEvent) -> Elapsed:
    return event[0]


def file_event_order(event: FileEventRecord) -> tuple[str, str, str]:
    """The order of a file session's events: time, then arrival, then id (the batch and the place in it)."""
    return event.timestamp, event.received_at, event.id


class FileSessionService:
    """File-transfer sessions: created by their first batch of events, read and exported whole."""

    def __init__(
        self,
        sessions: SessionRepository[FileSession],
        records: FileEventRepository,
        settings: SettingsRepository,
        clock: Clock = SYSTEM_CLOCK,
        retention_days: int = 365,
        limits: AuditLimits | None = None,
    ) -> None:
        self._sessions = sessions
        self._records = records
        self._settings = settings
        self._clock = clock
        self._retention_days = retention_days  # AUDIT_RETENTION_DAYS: how old a back-filled start may be
        self.limits = limits or AuditLimits()

    def page(self, query: ListQuery, limit: int, skip: int, start_key: Cursor | None) -> Page[FileSession]:
        return self._sessions.page(query, limit=limit, skip=skip, start_key=start_key)

    def current_generation(self) -> int:
        return self._sessions.current_generation()

    def add_events(self, caller: Caller, session_id: str, batch: FileBatch) -> None:
        """The gateway's file browsers log file events: sessions.ingest only (403 before anything is looked up).
        A file session's owner is fixed by the batch that created it: a batch naming another owner is 409 and
        stores nothing (else one user's activity could land in a file session another user reads)."""
        access.require(caller, access.INGEST)
        now = self._clock.utc()
        backfill = checked_backfill(caller, batch.backfill, now, self._retention_days)
        received = iso(now)
        times = [event.timestamp or received for event in batch.events]
        _within(backfill, times)
        session = self._sessions.get(session_id)
        if session is None:  # the first batch creates it: startedAt dates it (later batches' startedAt is unused)
            session = self._create(caller, session_id, batch, backfill.started_at or min(times))
        owner = owner_for_write(caller, batch.on_behalf)
        if owner.user_id != session.user_id:
            raise Conflict("this file session belongs to another user: a batch cannot give it a new owner")
        digest = batch_digest([[e.action, e.path, e.detail, e.timestamp] for e in batch.events])
        # counted (and its arrival time kept) before anything is stored: a batch past the limit stores nothing,
        # and a retry, counted once, takes its first arrival's time, so its events land on the same keys
        try:
            received = self._records.reserve(session_id, digest, len(batch.events), received,
                                             self.limits.file_events)
        except OverLimit as over:
            raise _full("file session's events", over) from None
        except ConditionFailed:
            raise NotFound("file session not found") from None  # purged or deleted a moment ago
        times = [event.timestamp or received for event in batch.events]
        self._records.put_events(session_id, digest, [
            FileEventRecord(f"evt_{digest}{index:04d}", timestamp, event.action, event.path, event.detail, received)
            for index, (event, timestamp) in enumerate(zip(batch.events, times, strict=True))
        ], marked_at=self._clock.iso_now())
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

    def events(self, caller: Caller, session_id: str) -> tuple[FileSession, Iterator[FileEventRecord]]:
        """The session and its events in time order (equal times: by arrival, then as sent), read as consumed."""
        session = self.session(caller, session_id)
        return session, self._ordered(session_id, None)

    def events_page(self, caller: Caller, session_id: str, limit: int,
                    cursor: Cursor | None) -> tuple[list[FileEventRecord], Cursor | None]:
        """Up to `limit` events after the cursor's (the last event given: its time, arrival and id)."""
        self.session(caller, session_id)
        after = (str(cursor["t"]), str(cursor["r"]), str(cursor["id"])) if cursor else None
        found = list(itertools.islice(self._ordered(session_id, after), limit + 1))
        if len(found) <= limit:
            return found, None
        last = found[limit - 1]
        return found[:limit], {"t": last.timestamp, "r": last.received_at, "id": last.id}

    def _ordered(self, session_id: str, after: tuple[str, str, str] | None) -> Iterator[FileEventRecord]:
        # events stored before they were keyed in time order are sorted here (they are what they were); the rest
        # come in key order, which is time order
        legacy = sorted(self._records.legacy_events(session_id), key=file_event_order)
        if after is not None:
            legacy = [e for e in legacy if file_event_order(e) > after]
        return heapq.merge(legacy, self._records.events(session_id, after), key=file_event_order)


def _within(backfill: Backfill, times: list[str]) -> None:
    """A back-filled batch's events lie between its startedAt and endedAt (an event without a timestamp is dated
    when it arrived, so a batch ended in the past must date every event)."""
    if backfill.started_at is not None and min(times) < backfill.started_at:
        raise BadRequest("an event's timestamp is before startedAt")
    if backfill.ended_at is not None and max(times) > backfill.ended_at:
        raise BadRequest("an event's timestamp is after endedAt (events without one are dated on arrival)")

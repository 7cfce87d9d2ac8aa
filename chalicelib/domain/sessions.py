"""Starting sessions and reading them back under the access rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.errors import BadRequest, Forbidden, Unavailable
from chalicelib.model.clock import SYSTEM_CLOCK, Clock, iso
from chalicelib.model.sessions import Connection, Cursor, ListQuery, Page, Session
from chalicelib.store import keys, outbox
from chalicelib.store.sessions import GenerationMoved, SessionRepository
from chalicelib.store.settings_store import SettingsRepository

RECORDED_PROTOCOLS = ("ssh", "telnet", "vnc", "rdp")
FILE_PROTOCOLS = ("sftp", "ftp", "smb")
VIDEO_PROTOCOLS = ("rdp", "vnc")

# the items a recorded session starts with besides META (the live recording and its sweep marker), given
# (session id, user id, protocol, the time it is created, purge generation, its startedAt, its given endedAt)
RecordingItems = Callable[[str, str, str, datetime, int, str, "str | None"], list[dict[str, Any]]]
GENERATION_ATTEMPTS = 4
# how far ahead of the service's clock a back-filled time may be: the importer's clock may run a little fast
BACKFILL_SKEW_SECONDS = 60


def new_session_id() -> str:
    return "sess_" + uuid.uuid4().hex


@dataclass(frozen=True)
class Owner:
    user_id: str
    username: str


@dataclass(frozen=True)
class ListFilters:
    user_id: str | None = None
    protocol: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Backfill:
    """`startedAt` / `endedAt` an importer (the ingest token) gives for history; ISO, normalised by the API."""

    started_at: str | None = None
    ended_at: str | None = None


NO_BACKFILL = Backfill()


def checked_backfill(caller: Caller, given: Backfill, now: datetime, retention_days: int) -> Backfill:
    """`given` if the caller may give it and it is possible: only `sessions.ingest` writes history (anyone else is
    refused, not ignored, so nobody believes a back-dated record was kept); no time ahead of the clock (beyond a
    small skew); an end not before the start; a start no older than AUDIT_RETENTION_DAYS, whose records the
    retention sweep has walked past already (it would never expire them)."""
    if given == NO_BACKFILL:
        return given
    if not caller.has(access.INGEST):
        raise Forbidden(f"only {access.INGEST} may give startedAt or endedAt")
    latest = iso(now + timedelta(seconds=BACKFILL_SKEW_SECONDS))
    for name, value in (("startedAt", given.started_at), ("endedAt", given.ended_at)):
        if value is not None and value > latest:
            raise BadRequest(f"{name} must not be in the future")
    if given.started_at is not None and given.started_at < iso(now - timedelta(days=retention_days)):
        raise BadRequest(f"startedAt must be within the audit retention ({retention_days} days)")
    if given.ended_at is not None and given.ended_at < (given.started_at or iso(now)):
        raise BadRequest("endedAt must not be before startedAt")
    return given


def owner_for_write(caller: Caller, on_behalf: Owner | None) -> Owner:
    """Who a new record belongs to: the caller, or for an ingest token the user it names."""
    if on_behalf is not None and caller.has(access.INGEST):
        return on_behalf
    return Owner(caller.user_id, caller.username)


def connection_name(connection: Connection | None, connection_id: str) -> str:
    """A connection the service never heard of is named by its id, so its recordings still list."""
    return (connection.name if connection is not None else None) or connection_id


def visible_query(kind: str, caller: Caller, filters: ListFilters, gen: int = 0) -> ListQuery:
    """The list the caller asked for (in purge generation `gen`), narrowed to what they may see; raises
    access.NothingVisible."""
    return ListQuery(
        kind=kind,
        user_id=access.list_owner(caller, filters.user_id),
        protocol=filters.protocol,
        start=filters.start,
        end=filters.end,
        gen=gen,
    )


class SessionService:
    def __init__(
        self,
        sessions: SessionRepository[Session],
        settings: SettingsRepository,
        clock: Clock = SYSTEM_CLOCK,
        new_id: Callable[[], str] = new_session_id,
        recording_items: RecordingItems | None = None,
        retention_days: int = 365,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._new_id = new_id
        self._recording_items = recording_items
        self._retention_days = retention_days  # AUDIT_RETENTION_DAYS: how old a back-filled start may be

    def start(self, caller: Caller, protocol: str, connection_id: str, on_behalf: Owner | None,
              backfill: Backfill = NO_BACKFILL) -> str | None:
        """Create the session row when recording is on globally and for the connection; its id, else None.
        `backfill` dates it (history an importer writes); the list indexes and the retention sweeps go by it."""
        now = self._clock.utc()
        backfill = checked_backfill(caller, backfill, now, self._retention_days)
        for attempt in range(GENERATION_ATTEMPTS):
            recording, connection, gen = self._settings.recording_and_connection(connection_id, consistent=attempt > 0)
            if not recording.enabled or (connection is not None and not connection.recording_enabled):
                return None
            try:
                return self._create(caller, protocol, connection_id, connection, on_behalf, gen, now, backfill)
            except GenerationMoved:
                continue  # a purge closed that generation a moment ago: this session belongs to the new one
        raise Unavailable("a purge is in progress, retry")

    def _create(self, caller: Caller, protocol: str, connection_id: str, connection: Connection | None,
                on_behalf: Owner | None, gen: int, now: datetime, backfill: Backfill) -> str:
        owner = owner_for_write(caller, on_behalf)
        session_id = self._new_id()
        started_at = backfill.started_at or iso(now)
        session = Session(
            id=session_id, user_id=owner.user_id, username=owner.username, protocol=protocol,
            connection_id=connection_id, connection_name=connection_name(connection, connection_id),
            started_at=started_at, ended_at=backfill.ended_at, has_recording=False, file_size=0,
            recording_state="recording",
        )
        extra = self._recording_items(session_id, owner.user_id, protocol, now, gen, started_at, backfill.ended_at) \
            if self._recording_items else []
        # the session's row of the audit lake, marked in the transaction that creates it
        extra.append(outbox.session_mark(session_id, iso(now)))
        self._sessions.create(session, {"sessions": 1}, extra, gen)
        return session_id

    def get(self, caller: Caller, session_id: str) -> Session:
        return access.readable(caller, self._sessions.get(session_id))

    def page(self, query: ListQuery, limit: int, skip: int, start_key: Cursor | None) -> Page[Session]:
        return self._sessions.page(query, limit=limit, skip=skip, start_key=start_key)

    def current_generation(self) -> int:
        return self._sessions.current_generation()


SESSION_KIND = keys.SESSION
FILES_KIND = keys.FILES

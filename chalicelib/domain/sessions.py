"""Starting sessions and reading them back under the access rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.errors import Unavailable
from chalicelib.store import keys
from chalicelib.store.sessions import GenerationMoved, ListQuery, Page, SessionRepository
from chalicelib.store.settings_store import SettingsRepository

RECORDED_PROTOCOLS = ("ssh", "telnet", "vnc", "rdp")
FILE_PROTOCOLS = ("sftp", "ftp", "smb")
VIDEO_PROTOCOLS = ("rdp", "vnc")

Clock = Callable[[], datetime]
# the items a recorded session starts with besides META (the live recording and its sweep marker), given
# (session id, user id, protocol, start time, purge generation)
RecordingItems = Callable[[str, str, str, datetime, int], list[dict[str, Any]]]
GENERATION_ATTEMPTS = 4


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The one time format of every stored and answered time: 2024-01-01T00:00:00.000Z.

    Always four year digits: glibc's strftime("%Y") writes year 836 as "836", which is not ISO 8601 and sorts
    after "2024" in the list indexes' string order. isoformat() pads the year.
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def owner_for_write(caller: Caller, on_behalf: Owner | None) -> Owner:
    """Who a new record belongs to: the caller, or for an ingest token the user it names."""
    if on_behalf is not None and caller.has(access.INGEST):
        return on_behalf
    return Owner(caller.user_id, caller.username)


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
        sessions: SessionRepository,
        settings: SettingsRepository,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_session_id,
        recording_items: RecordingItems | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._new_id = new_id
        self._recording_items = recording_items

    def start(self, caller: Caller, protocol: str, connection_id: str, on_behalf: Owner | None) -> str | None:
        """Create the session row when recording is on globally and for the connection; its id, else None."""
        for attempt in range(GENERATION_ATTEMPTS):
            recording, connection, gen = self._settings.recording_and_connection(connection_id, consistent=attempt > 0)
            if not recording["enabled"] or (connection is not None and not connection.get("recordingEnabled", True)):
                return None
            try:
                return self._create(caller, protocol, connection_id, connection, on_behalf, gen)
            except GenerationMoved:
                continue  # a purge closed that generation a moment ago: this session belongs to the new one
        raise Unavailable("a purge is in progress, retry")

    def _create(self, caller: Caller, protocol: str, connection_id: str, connection: dict[str, Any] | None,
                on_behalf: Owner | None, gen: int) -> str:
        owner = owner_for_write(caller, on_behalf)
        session_id = self._new_id()
        now = self._clock()
        item: dict[str, Any] = {
            "id": session_id,
            "userId": owner.user_id,
            "username": owner.username,
            "protocol": protocol,
            "connectionId": connection_id,
            # a connection the service never heard of is named by its id, so its recordings still list
            "connectionName": (connection or {}).get("name") or connection_id,
            "startedAt": iso(now),
            "hasRecording": False,
            "fileSize": 0,
            "recordingState": "recording",
        }
        extra = self._recording_items(session_id, owner.user_id, protocol, now, gen) if self._recording_items else []
        self._sessions.create(item, {"sessions": 1}, extra, gen)
        return session_id

    def get(self, caller: Caller, session_id: str) -> dict[str, Any]:
        return dict(access.readable(caller, self._sessions.get(session_id)))

    def page(self, query: ListQuery, limit: int, skip: int, start_key: dict[str, Any] | None) -> Page:
        return self._sessions.page(query, limit=limit, skip=skip, start_key=start_key)


SESSION_KIND = keys.SESSION
FILES_KIND = keys.FILES

"""Who watched, downloaded, exported, read audit records of, purged, deleted, held or released what, and whose
recording a quota cut: a record each, and a log line."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.model.audit import AccessEntry
from chalicelib.model.clock import SYSTEM_CLOCK, Clock
from chalicelib.model.sessions import Cursor, Page
from chalicelib.store.access_log import AccessLogRepository

log = logging.getLogger("session_audit.access")

PLAY = "recording.play"
DOWNLOAD = "recording.download"
EXPORT = "export"
PURGE = "purge"
DELETE = "delete"
HOLD = "hold"
RELEASE = "release"
# reading a session's audit records (each request, each page) is logged as playback is: before the answer
COMMANDS_READ = "commands.read"
EVENTS_READ = "events.read"
FILE_EVENTS_READ = "file-events.read"
QUOTA = "recording.quota"  # a session's chunk refused by maxUserBytesPerDay (once per session)
ACTIONS = (PLAY, DOWNLOAD, EXPORT, PURGE, DELETE, HOLD, RELEASE, COMMANDS_READ, EVENTS_READ, FILE_EVENTS_READ,
           QUOTA)


def session_target(session_id: str) -> str:
    return f"sessions/{session_id}"


def file_session_target(session_id: str) -> str:
    return f"file-sessions/{session_id}"


class AccessLog:
    def __init__(self, repo: AccessLogRepository, clock: Clock = SYSTEM_CLOCK,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12]) -> None:
        self._repo = repo
        self._clock = clock
        self._new_id = new_id

    def record(self, caller: Caller, action: str, target: str, ip: str | None, **detail: Any) -> None:
        """One PutItem and one JSON log line. Raises when the record cannot be written: a playback or export
        is not handed out unrecorded (deletions record after the fact, see `record_done`)."""
        entry = AccessEntry(self._clock.iso_now(), caller.user_id, caller.username, action, target, ip,
                            detail or None)
        line = {"at": entry.at, "userId": entry.user_id, "username": entry.username, "action": action,
                "target": target, "ip": ip}
        log.info(json.dumps({"accessLog": line, **({"detail": detail} if detail else {})}, sort_keys=True))
        self._repo.put(self._new_id(), entry)

    def record_done(self, caller: Caller, action: str, target: str, ip: str | None, **detail: Any) -> None:
        """For actions already carried out (purge, delete, hold, release): a failure to write the record is
        logged (the log line above already holds the entry), not answered as if the action had failed."""
        try:
            self.record(caller, action, target, ip, **detail)
        except Exception:
            log.exception("could not store the access-log entry of %s %s", action, target)

    def page(self, caller: Caller, limit: int, skip: int, start_key: Cursor | None) -> Page[AccessEntry]:
        access.require(caller, access.MANAGE_SETTINGS)
        return self._repo.page(limit, skip, start_key)

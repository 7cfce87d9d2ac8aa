"""Recording settings and per-connection switches (settings.manage)."""

from __future__ import annotations

from typing import Any, Mapping

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.model.clock import SYSTEM_CLOCK, Clock
from chalicelib.model.sessions import Connection, RecordingSettings
from chalicelib.store.settings_store import SettingsRepository

SETTINGS_CACHED_SECONDS = 60.0


class CachedRecordingSettings:
    """The recording settings as the chunk path reads them (maxUserBytesPerDay): at most one GetItem per
    SETTINGS_CACHED_SECONDS per process, so a chunk's commit costs no read. A change reaches the process that
    made it at once and every other within that time (docs/recordings.md)."""

    def __init__(self, repo: SettingsRepository, clock: Clock = SYSTEM_CLOCK,
                 ttl: float = SETTINGS_CACHED_SECONDS) -> None:
        self._repo = repo
        self._clock = clock
        self._ttl = ttl
        self._held: tuple[float, RecordingSettings] | None = None

    def current(self) -> RecordingSettings:
        held = self._held
        now = self._clock.now()
        if held is None or not 0 <= now - held[0] < self._ttl:
            held = (now, self._repo.recording())
            self._held = held
        return held[1]

    def remember(self, settings: RecordingSettings) -> None:
        self._held = (self._clock.now(), settings)


class SettingsService:
    def __init__(self, repo: SettingsRepository, cached: CachedRecordingSettings | None = None) -> None:
        self._repo = repo
        self._cached = cached

    def recording(self, caller: Caller) -> RecordingSettings:
        access.require(caller, access.MANAGE_SETTINGS)
        return self._repo.recording()

    def update_recording(self, caller: Caller, changes: Mapping[str, Any]) -> RecordingSettings:
        """`changes`: any of enabled, retentionDays, maxTotalBytes, minRetentionDays, maxUserBytesPerDay
        (validated by the API)."""
        access.require(caller, access.MANAGE_SETTINGS)
        if not changes:
            return self._repo.recording()
        updated = self._repo.update_recording(changes)
        if self._cached is not None:
            self._cached.remember(updated)
        return updated

    def put_connection(self, caller: Caller, connection_id: str, changes: Mapping[str, Any]) -> Connection:
        """`changes`: name and/or recordingEnabled (validated by the API)."""
        access.require(caller, access.MANAGE_SETTINGS)
        return self._repo.put_connection(connection_id, changes)

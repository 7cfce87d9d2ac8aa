"""Recording settings and per-connection switches (settings.manage)."""

from __future__ import annotations

from typing import Any, Mapping

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.model.sessions import Connection, RecordingSettings
from chalicelib.store.settings_store import SettingsRepository


class SettingsService:
    def __init__(self, repo: SettingsRepository) -> None:
        self._repo = repo

    def recording(self, caller: Caller) -> RecordingSettings:
        access.require(caller, access.MANAGE_SETTINGS)
        return self._repo.recording()

    def update_recording(self, caller: Caller, changes: Mapping[str, Any]) -> RecordingSettings:
        """`changes`: any of enabled, retentionDays, maxTotalBytes (validated by the API)."""
        access.require(caller, access.MANAGE_SETTINGS)
        if not changes:
            return self._repo.recording()
        return self._repo.update_recording(changes)

    def put_connection(self, caller: Caller, connection_id: str, changes: Mapping[str, Any]) -> Connection:
        """`changes`: name and/or recordingEnabled (validated by the API)."""
        access.require(caller, access.MANAGE_SETTINGS)
        return self._repo.put_connection(connection_id, changes)

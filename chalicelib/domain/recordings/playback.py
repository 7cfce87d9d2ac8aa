"""Reading recordings: a presigned URL to play or download one, and the storage total."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.domain.recordings.records import media
from chalicelib.errors import Conflict, NotFound
from chalicelib.model.clock import Clock
from chalicelib.model.recording import DONE_STATES
from chalicelib.settings import Settings
from chalicelib.store.counters import Counters
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import RecordingRepository


@dataclass(frozen=True)
class Playback:
    url: str
    expires_at: str


class Playbacks:
    def __init__(self, repo: RecordingRepository, objects: RecordingObjects, counters: Counters, settings: Settings,
                 clock: Clock) -> None:
        self._repo = repo
        self._objects = objects
        self._counters = counters
        self._settings = settings
        self._clock = clock

    def playback(self, caller: Caller, session_id: str, download: bool) -> Playback:
        meta = access.readable(caller, self._repo.visible_meta(session_id))
        state = meta.recording_state
        if state not in DONE_STATES:
            raise Conflict("the recording is not complete yet", recordingState=state)
        if not meta.has_recording or not meta.recording_key:
            raise NotFound("this session has no recording")
        extension, content_type = media(meta.protocol)
        ttl = self._settings.presign_ttl_seconds
        disposition = f'attachment; filename="{session_id}.{extension}"' if download else None
        url = self._objects.presign(meta.recording_key, ttl, content_type, disposition)
        return Playback(url, self._clock.iso_in(ttl))

    def storage_bytes(self, caller: Caller) -> int:
        access.require(caller, access.MANAGE_SETTINGS)
        return self._counters.totals()["bytes"]

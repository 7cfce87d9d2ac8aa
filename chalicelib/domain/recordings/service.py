"""RecordingService: the one object the API, the schedules and the tests hold; it wires the pipeline's pieces
over one clock and hands each request to the piece that does it."""

from __future__ import annotations

import uuid
from typing import Any, Callable

from chalicelib.domain.access import Caller
from chalicelib.domain.access_log import AccessLog
from chalicelib.domain.compaction import SOFT_SEGMENTS
from chalicelib.domain.recordings.compactor import Compactor
from chalicelib.domain.recordings.completion import Completion
from chalicelib.domain.recordings.ingest import Ingest
from chalicelib.domain.recordings.playback import Playback, Playbacks
from chalicelib.domain.recordings.quota import DailyQuota
from chalicelib.domain.recordings.records import idle_timeout
from chalicelib.domain.recordings.seekable import SeekableRewrite
from chalicelib.domain.recordings.sweep import Sweep
from chalicelib.model.clock import SYSTEM_CLOCK, Clock, iso_at
from chalicelib.settings import Settings
from chalicelib.store import recordings as rec_store
from chalicelib.store.counters import Counters
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import CompactionRepository, RecordingRepository


class RecordingService:
    def __init__(
        self,
        repo: RecordingRepository,
        steps: CompactionRepository,
        objects: RecordingObjects,
        counters: Counters,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        soft_segments: int = SOFT_SEGMENTS,
        daily_cap: Callable[[], int | None] = lambda: None,
        access_log: AccessLog | None = None,
    ) -> None:
        """`daily_cap`: maxUserBytesPerDay as it stands now; `access_log`: where its refusals are recorded."""
        self._repo = repo
        timing = clock
        compactor = Compactor(repo, steps, objects, settings, timing, new_id, soft_segments)
        self._ingest = Ingest(repo, compactor, objects, settings, timing, new_id,
                              DailyQuota(repo, daily_cap, access_log, timing))
        self._completion = Completion(repo, compactor, objects, settings, timing)
        self._sweep = Sweep(repo, self._completion, SeekableRewrite(repo, objects), objects, settings, timing)
        self._playbacks = Playbacks(repo, objects, counters, settings, timing)

    def append(self, caller: Caller, session_id: str, body: bytes, index: int | None, ip: str | None = None) -> None:
        """Stage and commit one chunk (ingest.py); `ip` is the caller's, for the access log of a quota refusal."""
        self._ingest.append(caller, session_id, body, index, ip)

    def finalize(self, caller: Caller, session_id: str) -> str:
        """Close and complete the recording (completion.py); the state it ends in."""
        return self._completion.finalize(caller, session_id)

    def sweep(self) -> dict[str, int]:
        """The scheduled sweep (sweep.py)."""
        return self._sweep.run()

    def playback(self, caller: Caller, session_id: str, download: bool) -> Playback:
        return self._playbacks.playback(caller, session_id, download)

    def storage_bytes(self, caller: Caller) -> int:
        return self._playbacks.storage_bytes(caller)


def initial_items(session_id: str, user_id: str, protocol: str, now: float, settings: Settings,
                  gen: int = 0, started: str | None = None, ended: str | None = None) -> list[dict[str, Any]]:
    """The REC item and the sweep's OPEN marker, written with the session's META (`ended`: a back-filled
    session's endedAt, which completion keeps instead of the time its recording was finalized)."""
    due = iso_at(now + idle_timeout(settings, protocol))
    return rec_store.initial_items(session_id, user_id, protocol, int(now * 1000), due, started or iso_at(now), gen,
                                   ended)

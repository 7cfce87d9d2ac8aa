"""The sweep (the scheduled `recording_sweep`): complete recordings whose client vanished (idle past the
timeout) or whose finalize died, and carry finished recordings through their after-work (digest, seekable
rewrite, cleanup), one OPEN marker at a time, within SWEEP_BUDGET_SECONDS."""

from __future__ import annotations

import logging

from chalicelib.domain.recordings.completion import CLEANUP_DELAY_SECONDS, Completion
from chalicelib.domain.recordings.records import idle_timeout
from chalicelib.domain.recordings.seekable import SeekableRewrite
from chalicelib.domain.sessions import VIDEO_PROTOCOLS
from chalicelib.errors import ServiceError
from chalicelib.model.clock import Clock, iso_at
from chalicelib.model.recording import (
    CLOSED,
    COMPLETE,
    DONE_STATES,
    FINALIZING,
    OPEN_STATES,
    TIMED_OUT,
    Recording,
    RecordingState,
    Task,
)
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import RecordingRepository

log = logging.getLogger("session_audit.recordings")

RETRY_MARKER_SECONDS = 60
MARKERS_PER_RUN = 100


class Sweep:
    def __init__(self, repo: RecordingRepository, completion: Completion, seekable: SeekableRewrite,
                 objects: RecordingObjects, settings: Settings, clock: Clock) -> None:
        self._repo = repo
        self._completion = completion
        self._seekable = seekable
        self._objects = objects
        self._settings = settings
        self._clock = clock

    def run(self) -> dict[str, int]:
        """Complete idle and stuck recordings, finish post-completion work; bounded by SWEEP_BUDGET_SECONDS."""
        deadline = self._clock.now() + self._settings.sweep_budget_seconds
        counts = {"looked": 0, "completed": 0, "timedOut": 0, "errors": 0}
        for marker in self._repo.due_markers(self._clock.iso_now(), limit=MARKERS_PER_RUN):
            if self._clock.now() >= deadline:
                break
            counts["looked"] += 1
            try:
                outcome = self._sweep_one(marker.session_id, marker.task, deadline)
            except Exception:
                counts["errors"] += 1
                log.exception("sweep of %s failed", marker.session_id)
                self._postpone(marker.session_id, marker.task)
                continue
            if outcome == COMPLETE:
                counts["completed"] += 1
            elif outcome == TIMED_OUT:
                counts["timedOut"] += 1
        return counts

    def _postpone(self, session_id: str, task: Task) -> None:
        try:
            self._repo.move_marker(session_id, self._clock.iso_in(RETRY_MARKER_SECONDS), task)
        except Exception:
            log.warning("could not postpone %s", session_id, exc_info=True)

    def _sweep_one(self, session_id: str, task: Task, deadline: float) -> str | None:
        rec = self._repo.get(session_id)
        if rec is None:
            self._repo.delete_marker(session_id)
            return None
        state = rec.state
        if state in OPEN_STATES:
            if not self._close_idle(rec):
                return None
            state = CLOSED
        if state == CLOSED:
            done = self._completion.complete(session_id, deadline)
            if done is None:
                self._postpone(session_id, Task.OPEN)
            return done
        if state in DONE_STATES:
            self._after_completion(session_id, task)
        else:
            self._repo.delete_marker(session_id)
        return None

    def _close_idle(self, rec: Recording) -> bool:
        """Close a live recording whose client is gone (True), or move its marker to when it may be (False)."""
        now_ms = self._clock.now_ms()
        last = rec.last_activity_ms
        timeout = idle_timeout(self._settings, rec.protocol)
        missing = rec.holes()
        grace_ms = int(self._settings.finalize_grace_seconds * 1000)
        outcome: RecordingState
        if rec.state == FINALIZING and not missing and now_ms >= (rec.finalize_ms or 0) + grace_ms:
            outcome = COMPLETE  # the client asked to finalize; that request died before it could close
        elif now_ms - last >= timeout * 1000:
            outcome = TIMED_OUT
        else:
            self._repo.move_marker(rec.session_id, iso_at(last / 1000 + timeout), Task.OPEN)
            return False
        # False when a chunk just came: the next run looks again
        return self._repo.close(rec.session_id, rec.state, rec.last_commit_ms, outcome, missing)

    def _after_completion(self, session_id: str, task: Task) -> None:
        """`digest`: the SHA-256 of a multipart object, streaming it once, as soon as it is complete.
        `seekable` (after the digest, so that it describes the client's bytes): a WebM gets its Duration and Cues.
        `cleanup` (a minute later, when in-flight chunks have given up): staging orphans go, the marker too."""
        if task == Task.DIGEST:
            if not self._digest(session_id):
                self._repo.move_marker(session_id, self._clock.iso_in(CLEANUP_DELAY_SECONDS), Task.CLEANUP)
                return
            self._repo.move_marker(session_id, self._clock.iso_now(), Task.SEEKABLE)
            task = Task.SEEKABLE  # carry on in this visit; a failure leaves the marker on this task
        if task == Task.SEEKABLE:
            self._seekable.make_seekable(session_id)
            self._repo.move_marker(session_id, self._clock.iso_in(CLEANUP_DELAY_SECONDS), Task.CLEANUP)
            return
        self._objects.delete(self._objects.list_keys(keys.staging_prefix(session_id)))
        self._repo.delete_marker(session_id)

    def _digest(self, session_id: str) -> bool:
        """Store the SHA-256 of the session's object, if it has none yet; True when a seekable rewrite follows."""
        meta = self._repo.meta(session_id)
        if meta and meta.has_recording and not meta.sha256 and meta.recording_key:
            digest, size = self._objects.sha256(meta.recording_key)
            if size != meta.file_size:
                raise ServiceError(f"recording {session_id} holds {size} bytes, expected {meta.file_size}")
            self._repo.update_meta(session_id, {"sha256": digest}, only_if_missing="sha256")
        return bool(meta and meta.protocol in VIDEO_PROTOCOLS and meta.has_recording)

"""Completion: finalize closes a recording once its chunks have stopped (the grace window), the rest of the
queue becomes the last part (or one PutObject), the object is completed and the session told, all in steps
the sweep can repeat when a request dies between them."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from chalicelib.domain.access import Caller
from chalicelib.domain.recordings import staging
from chalicelib.domain.recordings.compactor import Compactor
from chalicelib.domain.recordings.records import media, object_key, started_at, writable
from chalicelib.domain.sessions import VIDEO_PROTOCOLS
from chalicelib.errors import Conflict, NotFound, ServiceError
from chalicelib.model.clock import Clock, iso_at
from chalicelib.model.recording import (
    CLOSED,
    COMPLETE,
    DONE_STATES,
    FAILED,
    FINALIZING,
    PURGED,
    RECORDING,
    FinishedObject,
    Recording,
    RecordingState,
    Task,
)
from chalicelib.settings import Settings
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import RecordingRepository

log = logging.getLogger("session_audit.recordings")

FINALIZE_BUDGET_SECONDS = 20.0  # of API Gateway's 29
CLEANUP_DELAY_SECONDS = 60  # the sweep deletes late staging orphans after in-flight chunks have given up
COMPLETION_ATTEMPTS = 3


class Completion:
    def __init__(self, repo: RecordingRepository, compactor: Compactor, objects: RecordingObjects,
                 settings: Settings, clock: Clock) -> None:
        self._repo = repo
        self._compactor = compactor
        self._objects = objects
        self._settings = settings
        self._clock = clock

    def finalize(self, caller: Caller, session_id: str) -> str:
        """Close and complete the recording; the state it ends in (`finalizing` if the sweep must finish)."""
        started = self._clock.now()
        rec = writable(caller, self._repo.get_visible(session_id))
        if rec.state == PURGED:
            raise NotFound("session not found")
        if rec.state == RECORDING:
            self._repo.start_finalizing(session_id, self._clock.now_ms())
        state = self._close_when_quiet(session_id, started)
        if state == FINALIZING:
            return FINALIZING
        if state == FAILED:
            raise Conflict("the recording failed", recordingState=FAILED)
        if state in DONE_STATES:
            return state
        done = self.complete(session_id, deadline=started + FINALIZE_BUDGET_SECONDS)
        if done is None:
            self._repo.update_meta(session_id, {"recordingState": FINALIZING})
            self._repo.move_marker(session_id, self._clock.iso_now(), Task.OPEN)
            return FINALIZING
        return done

    def _close_when_quiet(self, session_id: str, started: float) -> str | None:
        """Wait for the grace window (no chunk for a while, or the grace over), then close the recording; the
        state it is in then (FINALIZING when chunks keep landing past the budget: the sweep closes it)."""
        grace = self._settings.finalize_grace_seconds
        quiet = min(1.0, grace / 3)
        while True:
            rec = self._repo.get(session_id)
            if rec is None or rec.state != FINALIZING:
                return rec.state if rec else None
            if self._clock.now() - started > FINALIZE_BUDGET_SECONDS:
                return FINALIZING  # chunks keep landing: the sweep closes it once they stop
            missing = rec.holes()
            now = self._clock.now()
            last = rec.last_activity_ms / 1000
            grace_end = (rec.finalize_ms or 0) / 1000 + grace
            if (not missing and now - last >= quiet) or now >= grace_end:
                if missing:
                    raise Conflict("chunks are missing", missing=missing)
                if self._repo.close(session_id, FINALIZING, rec.last_commit_ms, COMPLETE, []):
                    return CLOSED
                continue  # a chunk landed meanwhile: look again
            self._clock.sleep(max(0.01, min(last + quiet, grace_end) - now))  # look again when the window may end

    def complete(self, session_id: str, deadline: float) -> str | None:
        """Turn a closed recording into its object and tell the session; its final state, or None when the
        deadline came first (the sweep resumes: every step below is repeatable)."""
        try:
            if not self._compactor.compact(session_id, final=True, deadline=deadline):
                return None
            rec = self._repo.get(session_id)
            if rec is None or rec.state != CLOSED:
                return rec.state if rec else None
            return self._write_object(rec)
        except staging.LostChunk as lost:
            log.error("recording %s lost staged chunk %s", session_id, lost)
            self._repo.fail(session_id, f"staged chunk {lost} vanished")
            now = self._clock.iso_now()
            self._repo.update_meta(session_id, {"recordingState": FAILED, "endedAt": now}, marked_at=now)
            return FAILED

    def _write_object(self, rec: Recording) -> str:
        sha256 = self._store_object(rec)
        outcome = RecordingState(str(rec.outcome))
        meta = self._meta(rec, outcome, sha256)
        next_task = self._next_task(rec, sha256)
        session_id, queue, key, total = rec.session_id, rec.queue, object_key(rec), rec.size
        for _attempt in range(COMPLETION_ATTEMPTS):
            finished = FinishedObject(key, total, started_at(rec)) if total else None
            if self._repo.record_completion(session_id, outcome, meta, finished, next_task, self._clock.iso_now(),
                                            gen=rec.gen):
                staging.clean(self._objects, session_id, queue)
                break
            # a purge moved this held session to the next generation meanwhile (or closed its own): look again
            again = self._repo.get(session_id)
            if again is None or again.state != CLOSED:
                break
            rec = again
        return outcome

    def _store_object(self, rec: Recording) -> str | None:
        """Complete the multipart upload, or put the small recording whole; its SHA-256 when known already."""
        key, total = object_key(rec), rec.size
        if rec.upload_id:
            parts = self._repo.parts(rec.session_id)
            if sum(p.size for p in parts) != total or rec.queue:
                raise ServiceError(f"recording {rec.session_id}: parts hold {sum(p.size for p in parts)} of {total} "
                                   "bytes")
            self._objects.complete_upload(key, rec.upload_id, [(p.number, p.etag) for p in parts], total)
        elif total:
            body = staging.read(self._objects, rec.session_id, rec.queue)
            if len(body) != total:
                raise ServiceError(f"recording {rec.session_id}: staged {len(body)} of {total} bytes")
            self._objects.put(key, body, media(rec.protocol)[1])
            return hashlib.sha256(body).hexdigest()
        return None

    @staticmethod
    def _meta(rec: Recording, outcome: RecordingState, sha256: str | None) -> dict[str, Any]:
        """What META learns at completion."""
        ended_ms = (rec.finalize_ms or rec.last_commit_ms) if outcome == COMPLETE else rec.last_commit_ms
        meta: dict[str, Any] = {
            "hasRecording": rec.size > 0, "fileSize": rec.size, "recordingState": outcome.value,
            "endedAt": rec.ended_at or iso_at(ended_ms / 1000),
        }
        if rec.size:
            meta["recordingKey"] = object_key(rec)
        if sha256:
            meta["sha256"] = sha256
        if rec.missing:
            meta["missingChunks"] = list(rec.missing)
        return meta

    def _next_task(self, rec: Recording, sha256: str | None) -> tuple[str, Task]:
        """When and what the sweep does after completion: the digest, the seekable rewrite or the cleanup."""
        if rec.size and sha256 is None:
            return self._clock.iso_now(), Task.DIGEST
        if rec.size and rec.protocol in VIDEO_PROTOCOLS:
            return self._clock.iso_now(), Task.SEEKABLE
        return self._clock.iso_in(CLEANUP_DELAY_SECONDS), Task.CLEANUP

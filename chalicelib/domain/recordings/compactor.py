"""Compaction: staged chunks become multipart parts (or merged staged objects), one step at a time under REC's
lease. The steps are planned by chalicelib/domain/compaction.py; this runs them. Each step is one conditional
write after its S3 work, so a crash anywhere leaves either the old state or the new one, plus at worst an
orphan staged object or part that completion's cleanup (or the bucket's lifecycle) removes."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Callable

from chalicelib.domain.compaction import MAX_PARTS, SOFT_SEGMENTS, Merge, Part, Promote, Step, next_step
from chalicelib.domain.recordings import staging
from chalicelib.domain.recordings.records import media, object_key
from chalicelib.domain.sessions import VIDEO_PROTOCOLS
from chalicelib.errors import ServiceError
from chalicelib.media import webm
from chalicelib.model.clock import Clock
from chalicelib.model.recording import PURGED, PartScan, Recording, Segment, UploadedPart
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import CompactionRepository, RecordingRepository

log = logging.getLogger("session_audit.recordings")

LEASE_SECONDS = 180  # longer than any Lambda that can hold it lives (API 29 s, sweep 120 s)
CHUNK_COMPACTION_SECONDS = 10.0


class Compactor:
    def __init__(self, recordings: RecordingRepository, steps: CompactionRepository, objects: RecordingObjects,
                 settings: Settings, clock: Clock, new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
                 soft_segments: int = SOFT_SEGMENTS) -> None:
        self._recordings = recordings
        self._steps = steps
        self._objects = objects
        self._settings = settings
        self._clock = clock
        self._new_id = new_id
        self.soft = soft_segments

    def compact_quietly(self, session_id: str) -> None:
        """Compaction after a commit: the chunk is safe, so a failure here is logged, not answered; the next
        chunk, finalize or the sweep picks the work up again."""
        try:
            self.compact(session_id, final=False, deadline=self._clock.now() + CHUNK_COMPACTION_SECONDS)
        except Exception:
            log.warning("compaction of %s failed; it will be retried", session_id, exc_info=True)

    def compact(self, session_id: str, final: bool, deadline: float) -> bool:
        """Run compaction steps until none is due. False if the deadline passed or another holder's lease
        blocks a final compaction for too long."""
        while self._clock.now() < deadline:
            rec = self._recordings.get(session_id)
            if rec is None or rec.state == PURGED:
                return True
            step = next_step(rec, self._settings.recording_part_bytes, final, self.soft)
            if step is None:
                return True
            if isinstance(step, Promote):
                segments = [s for s in (rec.slots[i] for i in step.taken) if s.size]
                self._steps.promote(session_id, rec.sealed, step.taken, segments)
                continue
            if rec.lease and rec.lease.until_ms > self._clock.now_ms():
                if not final:
                    return True  # its holder carries on
                if rec.lease.until_ms > deadline * 1000:
                    return False  # held past our deadline (perhaps by a dead Lambda): the sweep resumes
                self._clock.sleep(0.25)
                continue
            lease_id = self._new_id()
            until = self._clock.now_ms() + LEASE_SECONDS * 1000
            if not self._steps.claim(session_id, rec.rev, lease_id, until, self._clock.now_ms()):
                continue
            try:
                self._run(rec, step, lease_id)
            except Exception:
                self._release(session_id, lease_id)
                raise
        return False

    def _release(self, session_id: str, lease_id: str) -> None:
        try:
            self._steps.release(session_id, lease_id)
        except Exception:
            log.warning("could not release the lease on %s; it expires by itself", session_id, exc_info=True)

    def _run(self, rec: Recording, step: Step, lease_id: str) -> None:
        if isinstance(step, Part):
            self._upload_part(rec, step, lease_id)
        elif isinstance(step, Merge):
            self._merge(rec, step, lease_id)

    def _upload_part(self, rec: Recording, step: Part, lease_id: str) -> None:
        session_id = rec.session_id
        segments = rec.queue[:step.take]
        body = staging.read(self._objects, session_id, segments)
        number = rec.parts + 1
        if number > MAX_PARTS:
            raise ServiceError("the recording has reached S3's 10,000 parts")
        upload_id = rec.upload_id or self._create_upload(rec, lease_id)
        if upload_id is None:
            return
        etag = self._objects.upload_part(object_key(rec), upload_id, number, body)
        scan = self._scan_part(rec, number, body)
        if self._steps.record_part(session_id, UploadedPart(number, etag, len(body)), step.take, lease_id, scan):
            staging.delete(self._objects, session_id, segments)

    def _merge(self, rec: Recording, step: Merge, lease_id: str) -> None:
        session_id = rec.session_id
        segments = rec.queue[step.start:step.end]
        body = staging.read(self._objects, session_id, segments)
        merged = Segment(f"m{self._new_id()}", len(body), max(s.level for s in segments) + 1)
        self._objects.put(keys.staging_key(session_id, merged.name), body)
        if self._steps.record_merge(session_id, step.start, step.end, merged, lease_id):
            staging.delete(self._objects, session_id, segments)
        else:
            staging.delete(self._objects, session_id, [merged])

    def _create_upload(self, rec: Recording, lease_id: str) -> str | None:
        upload_id = self._objects.create_upload(object_key(rec), media(rec.protocol)[1])
        if self._steps.set_upload(rec.session_id, upload_id, lease_id):
            return upload_id
        return None  # the lease was lost; the orphan upload holds no part (the bucket's lifecycle aborts it)

    def _scan_part(self, rec: Recording, number: int, body: bytes) -> PartScan | None:
        """A WebM part's clusters, learnt from the scan state the previous part left (docs/seekable-webm.md): the
        PART item keeps the state after it and the cues found in it, so completion needs no pass over the video."""
        if rec.protocol not in VIDEO_PROTOCOLS:
            return None
        try:
            previous = self._steps.part_scan(rec.session_id, number - 1) if number > 1 else None
            if number > 1 and not previous:
                return None  # an earlier part went unscanned: the rewrite scans the object instead
            scanner = webm.Scanner.resume(json.loads(previous) if previous else None)
            scanner.feed(body)
            cues = scanner.take_cues()  # before the state is kept, so that no cue is stored twice
            return PartScan(json.dumps(scanner.state.to_json(), separators=(",", ":")), cues)
        except Exception:
            log.warning("could not scan part %s of %s; the rewrite will scan the object", number, rec.session_id,
                        exc_info=True)
            return None

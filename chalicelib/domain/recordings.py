"""The recording pipeline: chunks in, one exact S3 object out (see docs/recordings.md).

A chunk is staged as its own S3 object, then committed by one DynamoDB transaction that appends it to the
recording's queue (or, with X-Chunk-Index, puts it in its slot) and counts its bytes. When the staged bytes
reach the part size, whoever committed last compacts: under a lease it reads the staged objects in order,
uploads them as the next multipart part and records the part. Finalize (or the sweep, for clients that
vanished) turns the rest into the last part and completes the upload. Every step is a conditional write, so
a crash between any two AWS calls leaves a state the next request, a retry or the sweep carries on from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.domain.compaction import (
    BIG_PART_FACTOR,
    HARD_SEGMENTS,
    MAX_PARTS,
    MAX_TAKE,
    SOFT_SEGMENTS,
    Merge,
    Part,
    Segment,
    part_bytes,
    plan,
)
from chalicelib.domain.sessions import VIDEO_PROTOCOLS, iso
from chalicelib.errors import Conflict, NotFound, PayloadTooLarge, ServiceError, Unavailable
from chalicelib.media import webm
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store import recordings as rec_store
from chalicelib.store.counters import Counters
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import (
    CLOSED,
    COMPLETE,
    DONE_STATES,
    FAILED,
    FINALIZING,
    INDEXED,
    OPEN_STATES,
    PURGED,
    RECORDING,
    SEQUENTIAL,
    TIMED_OUT,
    Failure,
    RecordingRepository,
)

log = logging.getLogger("session_audit.recordings")

MAX_CHUNK_BYTES = 4 * 1024 * 1024  # base64 in a 6 MB Lambda payload
MAX_INDEX = 999_999_999
MAX_AHEAD = 10_000  # an index may run this far ahead of the first one still missing
LEASE_SECONDS = 180  # longer than any Lambda that can hold it lives (API 29 s, sweep 120 s)
CHUNK_COMPACTION_SECONDS = 10.0
FINALIZE_BUDGET_SECONDS = 20.0  # of API Gateway's 29
CLEANUP_DELAY_SECONDS = 60  # the sweep deletes late staging orphans after in-flight chunks have given up
RETRY_MARKER_SECONDS = 60
MAX_MISSING_LISTED = 1000
SCAN_BLOCK_BYTES = 8 * 1024 * 1024


def media(protocol: str) -> tuple[str, str]:
    """(file extension, Content-Type) of a protocol's recordings."""
    return ("webm", "video/webm") if protocol in VIDEO_PROTOCOLS else ("cast", "application/x-asciicast")


def holes(rec: dict[str, Any]) -> list[int]:
    """Indices below the highest received one that have not arrived (indexed recordings)."""
    slots = rec.get("slots") or {}
    if not slots:
        return []
    sealed = int(rec.get("sealed", 0))
    present = {int(i) for i in slots}
    return [i for i in range(sealed, max(present)) if i not in present][:MAX_MISSING_LISTED]


@dataclass(frozen=True)
class Playback:
    url: str
    expires_at: str


class RecordingService:
    def __init__(
        self,
        repo: RecordingRepository,
        objects: RecordingObjects,
        counters: Counters,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        soft_segments: int = SOFT_SEGMENTS,
    ) -> None:
        self._repo = repo
        self._objects = objects
        self._counters = counters
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._new_id = new_id
        self._soft = soft_segments

    # ================================================================ append
    def append(self, caller: Caller, session_id: str, body: bytes, index: int | None) -> None:
        if len(body) > MAX_CHUNK_BYTES:
            raise PayloadTooLarge(f"a chunk may hold at most {MAX_CHUNK_BYTES} bytes")
        if not body and index is None:
            rec = access.writable(caller, self._repo.get(session_id))
            if rec.get("state") not in OPEN_STATES:
                raise Conflict("the recording is closed")
            return
        digest = hashlib.sha256(body).hexdigest()
        name = f"i{index}-{digest[:16]}" if index is not None else f"u{self._new_id()}"
        segment = Segment(name if body else "", len(body))
        if body:
            self._objects.put(keys.staging_key(session_id, name), body)
        owner = None if caller.has(access.INGEST) else caller.user_id
        base = self._settings.recording_part_bytes
        room: tuple[int, int] | None = (base - len(body), base * BIG_PART_FACTOR - len(body))
        cap = self._soft
        compact_after = False
        for _attempt in range(4):
            failure = self._repo.commit(
                session_id, segment=segment, index=index, sha256=digest, now_ms=self._now_ms(), owner=owner,
                cap=cap, room=room, max_ahead=MAX_AHEAD,
            )
            if failure is None:
                if compact_after:
                    self._compact_quietly(session_id)
                return
            if self._refused(caller, session_id, failure, segment, index, digest):
                return
            # only the part-size room or the soft cap stood in the way: commit, then compact
            old = failure.reasons[0] or {}
            full = len(old.get("slots" if index is not None else "queue") or ()) >= cap
            if full and cap == HARD_SEGMENTS:
                self._forget(session_id, segment, index)
                if index is not None:
                    raise Conflict("too many chunks wait behind missing ones", missing=holes(old))
                raise Unavailable("the recording is compacting, retry")
            if full:
                self._compact_quietly(session_id)  # promotion and merges free room before this commit
                cap = HARD_SEGMENTS
            room = None
            compact_after = True
        raise Unavailable("the recording is busy, retry")

    def _refused(self, caller: Caller, session_id: str, failure: Failure, segment: Segment, index: int | None,
                 digest: str) -> bool:
        """Raise the answer for a commit refused for cause; True for a retry of a chunk already stored;
        False when only compaction stands in the way."""
        rec_failed = failure.failed[0]
        old = failure.reasons[0]
        if rec_failed and (old is None or not access.may_write(caller, old) or old.get("state") == PURGED):
            self._forget(session_id, segment, index)
            raise NotFound("session not found")
        chunk_failed = index is not None and len(failure.failed) > 1 and failure.failed[1]
        if chunk_failed or (rec_failed and index is not None and old and old.get("state") not in OPEN_STATES):
            stored = (failure.reasons[1] if chunk_failed else None) or self._repo.chunk(session_id, index or 0)
            if stored is not None:
                if stored.get("sha256") == digest and int(stored.get("size", -1)) == segment.size:
                    self._forget(session_id, segment, index)
                    return True
                self._forget(session_id, segment, index)
                raise Conflict(f"chunk {index} was already received with other bytes")
        if not rec_failed or old is None:
            raise Unavailable("the recording is busy, retry")
        want = INDEXED if index is not None else SEQUENTIAL
        if old.get("mode") not in (None, want):
            self._forget(session_id, segment, index)
            raise Conflict("this recording's chunks carry X-Chunk-Index" if old["mode"] == INDEXED
                           else "this recording's chunks carry no X-Chunk-Index")
        if old.get("state") not in OPEN_STATES:
            self._forget(session_id, segment, index)
            raise Conflict("the recording is closed")
        if index is not None and int(old.get("sealed", 0)) < index - MAX_AHEAD:
            self._forget(session_id, segment, index)
            raise Conflict(f"X-Chunk-Index may run at most {MAX_AHEAD} ahead of the first missing chunk",
                           missing=holes(old))
        return False

    def _forget(self, session_id: str, segment: Segment, index: int | None) -> None:
        """Delete a staged object that no commit refers to (best effort: a leftover is removed at completion)."""
        if not segment.size:
            return
        try:
            if index is not None:
                rec = self._repo.get(session_id) or {}
                referenced = {Segment.decode(s).name for s in (rec.get("slots") or {}).values()}
                referenced |= {Segment.decode(s).name for s in rec.get("queue") or ()}
                if segment.name in referenced:
                    return  # a retry rewrote the very object a commit refers to, with the same bytes
            self._objects.delete([keys.staging_key(session_id, segment.name)])
        except Exception:
            log.warning("could not delete staged %s of %s", segment.name, session_id, exc_info=True)

    def _compact_quietly(self, session_id: str) -> None:
        """Compaction after a commit: the chunk is safe, so a failure here is logged, not answered; the next
        chunk, finalize or the sweep picks the work up again."""
        try:
            self._compact(session_id, final=False, deadline=self._clock() + CHUNK_COMPACTION_SECONDS)
        except Exception:
            log.warning("compaction of %s failed; it will be retried", session_id, exc_info=True)

    # ================================================================ compaction
    def _compact(self, session_id: str, final: bool, deadline: float) -> bool:
        """Run compaction steps until none is due. False if the deadline passed or another holder's lease
        blocks a final compaction for too long."""
        while self._clock() < deadline:
            rec = self._repo.get(session_id)
            if rec is None or rec.get("state") == PURGED:
                return True
            step = self._next_step(rec, final)
            if step is None:
                return True
            if isinstance(step, tuple):
                taken = step[1]
                segments = [s for s in (Segment.decode(rec["slots"][str(i)]) for i in taken) if s.size]
                self._repo.promote(session_id, int(rec["sealed"]), taken, segments)
                continue
            lease = rec.get("lease")
            if lease and int(lease["until"]) > self._now_ms():
                if not final:
                    return True  # its holder carries on
                if int(lease["until"]) > deadline * 1000:
                    return False  # held past our deadline (perhaps by a dead Lambda): the sweep resumes
                self._sleep(0.25)
                continue
            lease_id = self._new_id()
            until = self._now_ms() + LEASE_SECONDS * 1000
            if not self._repo.claim(session_id, int(rec["rev"]), lease_id, until, self._now_ms()):
                continue
            try:
                self._run(session_id, rec, step, lease_id)
            except Exception:
                self._release(session_id, lease_id)
                raise
        return False

    def _release(self, session_id: str, lease_id: str) -> None:
        try:
            self._repo.release(session_id, lease_id)
        except Exception:
            log.warning("could not release the lease on %s; it expires by itself", session_id, exc_info=True)

    def _next_step(self, rec: dict[str, Any], final: bool) -> Any:
        if rec.get("mode") == INDEXED and rec.get("slots"):
            sealed = int(rec["sealed"])
            present = sorted(int(i) for i in rec["slots"])
            if final:
                taken = present[:MAX_TAKE]
            else:
                taken = []
                for i in present:
                    if i != sealed + len(taken) or len(taken) == MAX_TAKE:
                        break
                    taken.append(i)
            if taken:
                return ("promote", taken)
        queue = [Segment.decode(s) for s in rec.get("queue") or ()]
        base = self._settings.recording_part_bytes
        if final and not rec.get("uploadId") and len(queue) <= MAX_TAKE and \
                sum(s.size for s in queue) < 2 * part_bytes(0, base):
            return None  # small enough for one PutObject at completion: no multipart upload at all
        return plan(queue, int(rec["parts"]), base, final, self._soft)

    def _run(self, session_id: str, rec: dict[str, Any], step: Any, lease_id: str) -> None:
        queue = [Segment.decode(s) for s in rec.get("queue") or ()]
        if isinstance(step, Part):
            segments = queue[:step.take]
            body = self._read(session_id, segments)
            number = int(rec["parts"]) + 1
            if number > MAX_PARTS:
                raise ServiceError("the recording has reached S3's 10,000 parts")
            upload_id = rec.get("uploadId") or self._create_upload(session_id, rec, lease_id)
            if upload_id is None:
                return
            etag = self._objects.upload_part(self._object_key(session_id, rec), upload_id, number, body)
            extra = self._scan_part(session_id, rec, number, body)
            if self._repo.record_part(session_id, number, etag, len(body), step.take, lease_id, extra):
                self._objects.delete(keys.staging_key(session_id, s.name) for s in segments)
        elif isinstance(step, Merge):
            segments = queue[step.start:step.end]
            body = self._read(session_id, segments)
            merged = Segment(f"m{self._new_id()}", len(body), max(s.level for s in segments) + 1)
            self._objects.put(keys.staging_key(session_id, merged.name), body)
            if self._repo.record_merge(session_id, step.start, step.end, merged, lease_id):
                self._objects.delete(keys.staging_key(session_id, s.name) for s in segments)
            else:
                self._objects.delete([keys.staging_key(session_id, merged.name)])

    def _scan_part(self, session_id: str, rec: dict[str, Any], number: int, body: bytes) -> dict[str, Any] | None:
        """A WebM part's clusters, learnt from the scan state the previous part left (docs/seekable-webm.md): the
        PART item keeps the state after it and the cues found in it, so completion needs no pass over the video."""
        if rec["protocol"] not in VIDEO_PROTOCOLS:
            return None
        try:
            previous = self._repo.part_item(session_id, number - 1) if number > 1 else None
            if number > 1 and not (previous and previous.get("scan")):
                return None  # an earlier part went unscanned: the rewrite scans the object instead
            scanner = webm.Scanner.resume(json.loads(previous["scan"]) if previous else None)
            scanner.feed(body)
            cues = scanner.take_cues()  # before the state is kept, so that no cue is stored twice
            extra: dict[str, Any] = {"scan": json.dumps(scanner.state.to_json(), separators=(",", ":"))}
            if cues:
                extra["cues"] = cues
            return extra
        except Exception:
            log.warning("could not scan part %s of %s; the rewrite will scan the object", number, session_id,
                        exc_info=True)
            return None

    def _read(self, session_id: str, segments: list[Segment]) -> bytes:
        pieces = []
        for segment in segments:
            try:
                piece = self._objects.get(keys.staging_key(session_id, segment.name))
            except ServiceError as exc:
                if "NoSuchKey" in exc.message:
                    raise LostChunk(segment.name) from exc
                raise
            if len(piece) != segment.size:
                raise LostChunk(segment.name)
            pieces.append(piece)
        return b"".join(pieces)

    def _create_upload(self, session_id: str, rec: dict[str, Any], lease_id: str) -> str | None:
        upload_id = self._objects.create_upload(self._object_key(session_id, rec), media(rec["protocol"])[1])
        if self._repo.set_upload(session_id, upload_id, lease_id):
            return upload_id
        return None  # the lease was lost; the orphan upload holds no part (the bucket's lifecycle aborts it)

    @staticmethod
    def _object_key(session_id: str, rec: dict[str, Any]) -> str:
        return keys.recording_key(session_id, media(rec["protocol"])[0])

    # ================================================================ finalize
    def finalize(self, caller: Caller, session_id: str) -> str:
        """Close and complete the recording; the state it ends in (`finalizing` if the sweep must finish)."""
        started = self._clock()
        rec = access.writable(caller, self._repo.get_visible(session_id))
        if rec["state"] == PURGED:
            raise NotFound("session not found")
        if rec["state"] == RECORDING:
            self._repo.start_finalizing(session_id, self._now_ms())
        grace = self._settings.finalize_grace_seconds
        quiet = min(1.0, grace / 3)
        while True:
            rec = self._repo.get(session_id) or {}
            if rec.get("state") != FINALIZING:
                break
            if self._clock() - started > FINALIZE_BUDGET_SECONDS:
                return FINALIZING  # chunks keep landing: the sweep closes it once they stop
            missing = holes(rec)
            now = self._clock()
            last = max(int(rec["lastCommitAt"]), int(rec["finalizeAt"])) / 1000
            grace_over = now >= int(rec["finalizeAt"]) / 1000 + grace
            if (not missing and now - last >= quiet) or grace_over:
                if missing:
                    raise Conflict("chunks are missing", missing=missing)
                if self._repo.close(session_id, FINALIZING, int(rec["lastCommitAt"]), COMPLETE, []):
                    break
                continue  # a chunk landed meanwhile: look again
            grace_end = int(rec["finalizeAt"]) / 1000 + grace
            self._sleep(max(0.01, min(last + quiet, grace_end) - now))  # look again when the window may be over
        state = str(rec.get("state"))
        if state == FAILED:
            raise Conflict("the recording failed", recordingState=FAILED)
        if state in DONE_STATES:
            return state
        done = self._complete(session_id, deadline=started + FINALIZE_BUDGET_SECONDS)
        if done is None:
            self._repo.update_meta(session_id, {"recordingState": FINALIZING})
            self._repo.move_marker(session_id, iso(self._now()), "open")
            return FINALIZING
        return done

    def _complete(self, session_id: str, deadline: float) -> str | None:
        """Turn a closed recording into its object and tell the session; its final state, or None when the
        deadline came first (the sweep resumes: every step below is repeatable)."""
        try:
            if not self._compact(session_id, final=True, deadline=deadline):
                return None
            rec = self._repo.get(session_id)
            if rec is None or rec["state"] != CLOSED:
                return str(rec["state"]) if rec else None
            return self._write_object(session_id, rec)
        except LostChunk as lost:
            log.error("recording %s lost staged chunk %s", session_id, lost)
            self._repo.fail(session_id, f"staged chunk {lost} vanished")
            self._repo.update_meta(session_id, {"recordingState": FAILED, "endedAt": iso(self._now())})
            return FAILED

    def _write_object(self, session_id: str, rec: dict[str, Any]) -> str:
        key = self._object_key(session_id, rec)
        total = int(rec["bytes"])
        queue = [Segment.decode(s) for s in rec.get("queue") or ()]
        sha256: str | None = None
        if rec.get("uploadId"):
            parts = self._repo.parts(session_id)
            if sum(p[2] for p in parts) != total or queue:
                raise ServiceError(f"recording {session_id}: parts hold {sum(p[2] for p in parts)} of {total} bytes")
            self._objects.complete_upload(key, rec["uploadId"], [(n, etag) for n, etag, _ in parts], total)
        elif total:
            body = self._read(session_id, queue)
            if len(body) != total:
                raise ServiceError(f"recording {session_id}: staged {len(body)} of {total} bytes")
            self._objects.put(key, body, media(rec["protocol"])[1])
            sha256 = hashlib.sha256(body).hexdigest()
        outcome = str(rec["outcome"])
        ended_ms = int(rec.get("finalizeAt") or rec["lastCommitAt"]) if outcome == COMPLETE else \
            int(rec["lastCommitAt"])
        meta: dict[str, Any] = {
            "hasRecording": total > 0, "fileSize": total, "recordingState": outcome,
            "endedAt": iso(datetime.fromtimestamp(ended_ms / 1000, UTC)),
        }
        if total:
            meta["recordingKey"] = key
        if sha256:
            meta["sha256"] = sha256
        if rec.get("missing"):
            meta["missingChunks"] = rec["missing"]
        if total and sha256 is None:
            next_task = (iso(self._now()), "digest")
        elif total and rec["protocol"] in VIDEO_PROTOCOLS:
            next_task = (iso(self._now()), "seekable")
        else:
            next_task = (self._iso_in(CLEANUP_DELAY_SECONDS), "cleanup")
        for _attempt in range(3):
            retain = rec_store.retain_item(session_id, started_at(rec), total, key) if total else None
            if self._repo.record_completion(session_id, outcome, meta, counted=total > 0, next_task=next_task,
                                            gen=int(rec.get("gen", 0)), retain=retain):
                self._cleanup(session_id, queue)
                break
            # a purge moved this held session to the next generation meanwhile (or closed its own): look again
            rec = self._repo.get(session_id) or {}
            if rec.get("state") != CLOSED:
                break
        return outcome

    def _cleanup(self, session_id: str, queue: list[Segment]) -> None:
        try:
            leftovers = self._objects.list_keys(keys.staging_prefix(session_id))
            self._objects.delete([keys.staging_key(session_id, s.name) for s in queue if s.size] + leftovers)
        except Exception:
            log.warning("staging cleanup of %s failed; the sweep retries", session_id, exc_info=True)

    # ================================================================ sweep
    def sweep(self) -> dict[str, int]:
        """Complete idle and stuck recordings, finish post-completion work; bounded by SWEEP_BUDGET_SECONDS."""
        deadline = self._clock() + self._settings.sweep_budget_seconds
        counts = {"looked": 0, "completed": 0, "timedOut": 0, "errors": 0}
        for marker in self._repo.due_markers(iso(self._now()), limit=100):
            if self._clock() >= deadline:
                break
            counts["looked"] += 1
            session_id = str(marker["id"])
            try:
                outcome = self._sweep_one(session_id, str(marker.get("task", "open")), deadline)
            except Exception:
                counts["errors"] += 1
                log.exception("sweep of %s failed", session_id)
                self._postpone(session_id, str(marker.get("task", "open")))
                continue
            if outcome == COMPLETE:
                counts["completed"] += 1
            elif outcome == TIMED_OUT:
                counts["timedOut"] += 1
        return counts

    def _postpone(self, session_id: str, task: str) -> None:
        try:
            self._repo.move_marker(session_id, self._iso_in(RETRY_MARKER_SECONDS), task)
        except Exception:
            log.warning("could not postpone %s", session_id, exc_info=True)

    def _sweep_one(self, session_id: str, task: str, deadline: float) -> str | None:
        rec = self._repo.get(session_id)
        if rec is None:
            self._repo.delete_marker(session_id)
            return None
        state = rec["state"]
        if state in OPEN_STATES:
            now_ms = self._now_ms()
            last = max(int(rec["lastCommitAt"]), int(rec.get("finalizeAt") or 0))
            timeout = self._idle_timeout(rec["protocol"])
            missing = holes(rec)
            grace_ms = int(self._settings.finalize_grace_seconds * 1000)
            if state == FINALIZING and not missing and now_ms >= int(rec["finalizeAt"]) + grace_ms:
                outcome = COMPLETE  # the client asked to finalize; that request died before it could close
            elif now_ms - last >= timeout * 1000:
                outcome = TIMED_OUT
            else:
                self._repo.move_marker(session_id, iso(datetime.fromtimestamp(last / 1000 + timeout, UTC)), "open")
                return None
            if not self._repo.close(session_id, state, int(rec["lastCommitAt"]), outcome, missing):
                return None  # a chunk just came: next run
            state = CLOSED
        if state == CLOSED:
            done = self._complete(session_id, deadline)
            if done is None:
                self._postpone(session_id, "open")
            return done
        if state in DONE_STATES:
            self._after_completion(session_id, task)
        else:
            self._repo.delete_marker(session_id)
        return None

    def _after_completion(self, session_id: str, task: str) -> None:
        """`digest`: the SHA-256 of a multipart object, streaming it once, as soon as it is complete.
        `seekable` (after the digest, so that it describes the client's bytes): a WebM gets its Duration and Cues.
        `cleanup` (a minute later, when in-flight chunks have given up): staging orphans go, the marker too."""
        if task == "digest":
            meta = self._repo.meta(session_id)
            if meta and meta.get("hasRecording") and not meta.get("sha256") and meta.get("recordingKey"):
                digest, size = self._objects.sha256(str(meta["recordingKey"]))
                if size != int(meta.get("fileSize", -1)):
                    raise ServiceError(f"recording {session_id} holds {size} bytes, expected {meta.get('fileSize')}")
                self._repo.update_meta(session_id, {"sha256": digest}, only_if_missing="sha256")
            if not (meta and meta.get("protocol") in VIDEO_PROTOCOLS and meta.get("hasRecording")):
                self._repo.move_marker(session_id, self._iso_in(CLEANUP_DELAY_SECONDS), "cleanup")
                return
            self._repo.move_marker(session_id, iso(self._now()), "seekable")
            task = "seekable"  # carry on in this visit; a failure leaves the marker on this task
        if task == "seekable":
            self._make_seekable(session_id)
            self._repo.move_marker(session_id, self._iso_in(CLEANUP_DELAY_SECONDS), "cleanup")
            return
        self._objects.delete(self._objects.list_keys(keys.staging_prefix(session_id)))
        self._repo.delete_marker(session_id)

    def _make_seekable(self, session_id: str) -> None:
        """Rewrite a complete WebM under the seekable key (its middle copied inside S3), verify it, point the
        session at it, then delete the client's object: until that point the original is untouched, and after it
        the client's exact bytes are rebuilt from the new object (webm.rebuild). Each step can be repeated."""
        meta = self._repo.meta(session_id)
        if not meta or not meta.get("hasRecording") or meta.get("protocol") not in VIDEO_PROTOCOLS:
            return
        original = keys.recording_key(session_id, "webm")
        target = keys.seekable_key(session_id)
        if meta.get("seekable"):
            if meta.get("recordingKey") == target:
                self._objects.delete([original])  # a crash came between the switch and this delete
            return
        source = str(meta["recordingKey"])
        writer = self._objects.seekable_writer()
        try:
            index = self._webm_index(session_id, source, int(meta["fileSize"]))
            done = writer.rewrite(source, target, index)
        except webm.Unsupported as exc:
            log.info("recording %s stays as recorded: %s", session_id, exc)
            self._repo.update_meta(session_id, {"seekable": {"indexed": False, "reason": str(exc)[:200]}},
                                   only_if_missing="seekable")
            return
        writer.verify(source, done)  # raises on any difference: the original stays and the sweep retries
        # the storage total counts what is stored: the few KB of head and Cues join it in the same transaction
        # (fileSize and sha256 keep describing the client's bytes, which the stored object rebuilds)
        switched = self._repo.switch_to_seekable(session_id, source, target, int(meta["fileSize"]), done.size, {
            "indexed": True, "storedSize": done.size, "cues": len(index.cues),
            "durationMs": round(index.duration_seconds * 1000)})
        if switched or (self._repo.meta(session_id) or {}).get("recordingKey") == target:
            self._objects.delete([source])
        else:  # expired, deleted or purged meanwhile: the unused rewrite is an orphan reconciliation removes
            log.info("recording %s changed during its seekable rewrite; left as it is", session_id)

    def _webm_index(self, session_id: str, key: str, size: int) -> webm.Index:
        """What the parts' scans learnt; for a recording that never reached a part (or whose parts went
        unscanned), a scan of the object itself, streamed."""
        parts = self._repo.part_indexes(session_id)
        if parts and all(scan for scan, _ in parts):
            scanner = webm.Scanner.resume(json.loads(str(parts[-1][0])))
            if scanner.state.pos == size:
                return scanner.finish([cues for _, cues in parts])
        scanner = webm.Scanner()
        for at in range(0, size, SCAN_BLOCK_BYTES):
            scanner.feed(self._objects.read_range(key, at, min(size, at + SCAN_BLOCK_BYTES)))
        return scanner.finish()

    def _idle_timeout(self, protocol: str) -> int:
        if protocol in VIDEO_PROTOCOLS:
            return self._settings.idle_timeout_video_seconds
        return self._settings.idle_timeout_terminal_seconds

    # ================================================================ reading
    def playback(self, caller: Caller, session_id: str, download: bool) -> Playback:
        meta = access.readable(caller, self._repo.visible_meta(session_id))
        state = meta.get("recordingState")
        if state not in DONE_STATES:
            raise Conflict("the recording is not complete yet", recordingState=state)
        if not meta.get("hasRecording") or not meta.get("recordingKey"):
            raise NotFound("this session has no recording")
        extension, content_type = media(str(meta["protocol"]))
        ttl = self._settings.presign_ttl_seconds
        disposition = f'attachment; filename="{session_id}.{extension}"' if download else None
        url = self._objects.presign(str(meta["recordingKey"]), ttl, content_type, disposition)
        return Playback(url, self._iso_in(ttl))

    def storage_bytes(self, caller: Caller) -> int:
        access.require(caller, access.MANAGE_SETTINGS)
        return self._counters.totals()["bytes"]

    # ================================================================ time
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _iso_in(self, seconds: float) -> str:
        return iso(datetime.fromtimestamp(self._clock() + seconds, UTC))


class LostChunk(Exception):
    """A staged object a commit refers to is gone: the recording cannot be exact any more."""


def initial_items(session_id: str, user_id: str, protocol: str, now: float, settings: Settings,
                  gen: int = 0, started: str | None = None) -> list[dict[str, Any]]:
    """The REC item and the sweep's OPEN marker, written with the session's META."""
    timeout = settings.idle_timeout_video_seconds if protocol in VIDEO_PROTOCOLS else \
        settings.idle_timeout_terminal_seconds
    due = iso(datetime.fromtimestamp(now + timeout, UTC))
    return rec_store.initial_items(session_id, user_id, protocol, int(now * 1000), due,
                                   started or iso(datetime.fromtimestamp(now, UTC)), gen)


def started_at(rec: dict[str, Any]) -> str:
    """The session's start as META has it (REC items written before it was stored there: from the ms)."""
    if rec.get("startedAt"):
        return str(rec["startedAt"])
    return iso(datetime.fromtimestamp(int(rec["startedAtMs"]) / 1000, UTC))



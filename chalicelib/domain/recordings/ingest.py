"""Ingest: a chunk is staged as its own S3 object, then committed by one DynamoDB transaction that appends it to
the recording's queue (or, with X-Chunk-Index, puts it in its slot) and counts its bytes (under maxUserBytesPerDay
also in its owner's counter of the day, quota.py). A commit refused for cause gets its answer here (404, 409, 429,
503); one refused only because compaction is due commits after it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Callable

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.domain.compaction import HARD_SEGMENTS
from chalicelib.domain.recordings.compactor import Compactor
from chalicelib.domain.recordings.quota import DailyQuota
from chalicelib.domain.recordings.records import writable
from chalicelib.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unavailable
from chalicelib.model.clock import Clock
from chalicelib.model.recording import (
    BIG_PART_FACTOR,
    OPEN_STATES,
    PURGED,
    CommitRefusal,
    Mode,
    QuotaCharge,
    Recording,
    Segment,
)
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import RecordingRepository

log = logging.getLogger("session_audit.recordings")

MAX_CHUNK_BYTES = 4 * 1024 * 1024  # base64 in a 6 MB Lambda payload
MAX_INDEX = 999_999_999
MAX_AHEAD = 10_000  # an index may run this far ahead of the first one still missing
COMMIT_ATTEMPTS = 4


def held() -> Conflict:
    """The answer to a chunk for a session on legal hold (nothing is appended to it, by anyone)."""
    return Conflict("the session is on legal hold: nothing may be added to it", onHold=True)


class Ingest:
    def __init__(self, repo: RecordingRepository, compactor: Compactor, objects: RecordingObjects,
                 settings: Settings, clock: Clock, new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
                 quota: DailyQuota | None = None) -> None:
        self._repo = repo
        self._quota = quota if quota is not None else DailyQuota(repo, lambda: None, None, clock)
        self._compactor = compactor
        self._objects = objects
        self._settings = settings
        self._clock = clock
        self._new_id = new_id

    def append(self, caller: Caller, session_id: str, body: bytes, index: int | None, ip: str | None = None) -> None:
        if len(body) > MAX_CHUNK_BYTES:
            raise PayloadTooLarge(f"a chunk may hold at most {MAX_CHUNK_BYTES} bytes")
        if not body and index is None:  # a keep-alive: only says whether chunks are still accepted
            if writable(caller, self._repo.get(session_id)).state not in OPEN_STATES:
                raise Conflict("the recording is closed")
            if self._repo.held(session_id):
                raise held()
            return
        digest = hashlib.sha256(body).hexdigest()
        name = f"i{index}-{digest[:16]}" if index is not None else f"u{self._new_id()}"
        segment = Segment(name if body else "", len(body))
        if body:
            self._objects.put(keys.staging_key(session_id, name), body)
        charge = self._quota.charge(caller, session_id) if body else None
        if not self._commit(caller, session_id, segment, index, digest, charge):
            assert charge is not None
            self._quota.refuse(caller, session_id, charge, ip)

    def _commit(self, caller: Caller, session_id: str, segment: Segment, index: int | None, digest: str,
                charge: QuotaCharge | None) -> bool:
        """Commit within the part size and the soft cap; when only they stand in the way, compact before (cap
        reached) or after (part size reached) a commit without that limit. False when the user's quota of the
        day refused it (the staged object is forgotten)."""
        owner = None if caller.has(access.INGEST) else caller.user_id  # the commit checks the owner's rights
        base = self._settings.recording_part_bytes
        room: tuple[int, int] | None = (base - segment.size, base * BIG_PART_FACTOR - segment.size)
        cap = self._compactor.soft
        compact_after = False
        for _attempt in range(COMMIT_ATTEMPTS):
            refusal = self._repo.commit(
                session_id, segment=segment, index=index, sha256=digest, now_ms=self._clock.now_ms(), owner=owner,
                cap=cap, room=room, max_ahead=MAX_AHEAD, owner_protocols=sorted(access.BROWSER_PROTOCOLS),
                quota=charge,
            )
            if refusal is None:
                if compact_after:
                    self._compactor.compact_quietly(session_id)
                return True
            if self._refused(caller, session_id, refusal, segment, index, digest):
                return True
            if refusal.quota_failed:
                self._forget(session_id, segment, index)
                return False
            old = refusal.recording
            full = old is not None and len(old.slots if index is not None else old.queue) >= cap
            if full and cap == HARD_SEGMENTS:
                self._forget(session_id, segment, index)
                if index is not None:
                    raise Conflict("too many chunks wait behind missing ones", missing=old.holes() if old else [])
                raise Unavailable("the recording is compacting, retry")
            if full:
                self._compactor.compact_quietly(session_id)  # promotion and merges free room before this commit
                cap = HARD_SEGMENTS
            room = None
            compact_after = True
        raise Unavailable("the recording is busy, retry")

    def _refused(self, caller: Caller, session_id: str, refusal: CommitRefusal, segment: Segment, index: int | None,
                 digest: str) -> bool:
        """Raise the answer for a commit refused for cause; True for a retry of a chunk already stored;
        False when only compaction or the quota (`refusal.quota_failed`, after every other cause) stands in
        the way."""
        old = refusal.recording
        if refusal.recording_failed and (old is None or old.state == PURGED):
            self._forget(session_id, segment, index)
            raise NotFound("session not found")
        if refusal.recording_failed and old is not None:
            try:
                access.browser_writer(caller, old.user_id, old.protocol)  # 404 (not theirs), 403 (not theirs to write)
            except (NotFound, Forbidden):
                self._forget(session_id, segment, index)
                raise
        # a retry of a stored chunk succeeds even past the quota (it was counted when it was committed)
        if index is not None and (refusal.chunk_failed or refusal.quota_failed or (
                refusal.recording_failed and old is not None and old.state not in OPEN_STATES)):
            stored = refusal.chunk or self._repo.chunk(session_id, index)
            if stored is not None:
                self._forget(session_id, segment, index)
                if stored.sha256 == digest and stored.size == segment.size:
                    return True
                raise Conflict(f"chunk {index} was already received with other bytes")
        if refusal.held:
            self._forget(session_id, segment, index)
            raise held()
        if refusal.quota_failed:
            if refusal.recording_failed and old is not None:
                self._check_open(old, session_id, segment, index)  # closed, other mode: those answers first
            return False
        if not refusal.recording_failed or old is None:
            raise Unavailable("the recording is busy, retry")
        self._check_open(old, session_id, segment, index)
        return False

    def _check_open(self, old: Recording, session_id: str, segment: Segment, index: int | None) -> None:
        """Raise the answer when the recording as it was refuses this chunk: other mode, closed, too far ahead."""
        want = Mode.INDEXED if index is not None else Mode.SEQUENTIAL
        if old.mode not in (None, want):
            self._forget(session_id, segment, index)
            raise Conflict("this recording's chunks carry X-Chunk-Index" if old.mode == Mode.INDEXED
                           else "this recording's chunks carry no X-Chunk-Index")
        if old.state not in OPEN_STATES:
            self._forget(session_id, segment, index)
            raise Conflict("the recording is closed")
        if index is not None and old.sealed < index - MAX_AHEAD:
            self._forget(session_id, segment, index)
            raise Conflict(f"X-Chunk-Index may run at most {MAX_AHEAD} ahead of the first missing chunk",
                           missing=old.holes())

    def _forget(self, session_id: str, segment: Segment, index: int | None) -> None:
        """Delete a staged object that no commit refers to (best effort: a leftover is removed at completion)."""
        if not segment.size:
            return
        try:
            if index is not None:
                rec = self._repo.get(session_id)
                if rec is not None and segment.name in rec.referenced():
                    return  # a retry rewrote the very object a commit refers to, with the same bytes
            self._objects.delete([keys.staging_key(session_id, segment.name)])
        except Exception:
            log.warning("could not delete staged %s of %s", segment.name, session_id, exc_info=True)

"""What a recording is, for the domain and the store alike: its states, its segments, its typed records.

The store turns REC / CHUNK / PART / OPEN items into these records in one place (chalicelib/store/recordings.py)
and the domain works on them only, so neither layer reads the other's shapes and the store never imports the
domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class RecordingState(StrEnum):
    """The live recording's state machine (REC `state`):

    recording -> finalizing (finalize asked) -> closed (no chunk accepted any more) -> complete | timed_out | failed;
    recording -> closed when the sweep times an idle recording out; any state -> purged.
    """

    RECORDING = "recording"
    FINALIZING = "finalizing"
    CLOSED = "closed"  # no chunk is accepted any more; completion is under way
    COMPLETE = "complete"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    PURGED = "purged"  # the session was purged or deleted: nothing more is accepted; the worker deletes it all


RECORDING = RecordingState.RECORDING
FINALIZING = RecordingState.FINALIZING
CLOSED = RecordingState.CLOSED
COMPLETE = RecordingState.COMPLETE
TIMED_OUT = RecordingState.TIMED_OUT
FAILED = RecordingState.FAILED
PURGED = RecordingState.PURGED
OPEN_STATES = (RECORDING, FINALIZING)  # chunks are accepted
DONE_STATES = (COMPLETE, TIMED_OUT)  # the object exists (or the recording was empty)


class Mode(StrEnum):
    """How a recording's chunks are ordered, fixed by its first chunk."""

    SEQUENTIAL = "sequential"  # in commit order (the REC queue)
    INDEXED = "indexed"  # by X-Chunk-Index (REC slots, promoted to the queue in index order)


class Task(StrEnum):
    """What the sweep does next for a session, kept in its OPEN marker."""

    OPEN = "open"  # the recording is live: time it out, or finish a completion that died
    DIGEST = "digest"  # the SHA-256 of a multipart object
    SEEKABLE = "seekable"  # a WebM's head and Cues (docs/seekable-webm.md)
    CLEANUP = "cleanup"  # staging orphans go, then the marker


# part sizes: the store's commit condition and the domain's planning agree on these
BIG_PART_AFTER = 1000
BIG_PART_FACTOR = 10
MAX_MISSING_LISTED = 1000  # missing indices an answer lists


@dataclass(frozen=True)
class Segment:
    """A staged S3 object in the recording's queue: a committed chunk (level 0) or a merge of earlier ones."""

    name: str  # the staging object's name under staging/<sessionId>/ ("" for an empty chunk)
    size: int
    level: int = 0

    def encode(self) -> str:
        return f"{self.name}|{self.size}|{self.level}"

    @staticmethod
    def decode(raw: str) -> Segment:
        name, size, level = raw.rsplit("|", 2)
        return Segment(name, int(size), int(level))


@dataclass(frozen=True)
class Lease:
    """Who may run the next compaction step, until when (epoch ms)."""

    id: str
    until_ms: int


@dataclass(frozen=True)
class Recording:
    """The REC item: the live state of one session's recording."""

    session_id: str
    user_id: str
    protocol: str
    state: RecordingState
    mode: Mode | None  # None until the first chunk
    queue: tuple[Segment, ...]  # staged segments in stream order, not yet in a part
    slots: dict[int, Segment] = field(hash=False)  # indexed chunks at or after `sealed`, waiting for their turn
    sealed: int  # every index below it is in the queue (or a part)
    staged: int  # bytes in the queue
    size: int  # bytes committed (after the seekable rewrite: bytes stored)
    parts: int  # multipart parts recorded
    upload_id: str | None
    lease: Lease | None
    rev: int  # bumped by every compaction step, so a claim names the state it planned from
    last_commit_ms: int
    finalize_ms: int | None  # when finalize was first asked
    outcome: str | None  # what completion ends in (closed); the reason (failed)
    missing: tuple[int, ...]  # indices that never came (closed by a timeout)
    gen: int  # the purge generation the session was counted in
    started_at: str | None  # the session's start as META has it (absent from REC items of older code)
    started_ms: int
    ended_at: str | None = None  # a back-filled session's given endedAt: completion keeps it

    @property
    def last_activity_ms(self) -> int:
        return max(self.last_commit_ms, self.finalize_ms or 0)

    def holes(self) -> list[int]:
        """Indices below the highest received one that have not arrived (indexed recordings)."""
        if not self.slots:
            return []
        present = set(self.slots)
        return [i for i in range(self.sealed, max(present)) if i not in present][:MAX_MISSING_LISTED]

    def referenced(self) -> set[str]:
        """The staged objects a commit refers to."""
        return {s.name for s in self.slots.values()} | {s.name for s in self.queue}


@dataclass(frozen=True)
class StoredChunk:
    """The CHUNK item of an indexed chunk: what arrived under that index."""

    index: int
    size: int
    sha256: str
    name: str


@dataclass(frozen=True)
class CommitRefusal:
    """Why a chunk's commit was cancelled: each written item's condition, and the item as it was then."""

    recording_failed: bool  # REC's condition failed
    recording: Recording | None  # REC as it was (None when it does not exist or its condition held)
    chunk_failed: bool  # the CHUNK item of this index exists already
    chunk: StoredChunk | None
    held: bool = False  # the session is on legal hold (META's check failed)
    quota_failed: bool = False  # the user's bytes of the day would pass maxUserBytesPerDay


@dataclass(frozen=True)
class QuotaCharge:
    """Whom a chunk's bytes are charged to: `user_id`'s counter of the UTC `day` (YYYY-MM-DD), which may not pass
    `cap`; the counter item expires (DynamoDB TTL) at `expires_at` (epoch seconds)."""

    user_id: str
    day: str
    cap: int
    expires_at: int


class UploadedPart(NamedTuple):
    """A PART item: one uploaded multipart part."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class PartScan:
    """What a WebM part's scan left (docs/seekable-webm.md): the scanner's state after it, the cues found in it."""

    state: str | None  # JSON of webm.ScanState; None when the part went unscanned
    cues: bytes


@dataclass(frozen=True)
class Marker:
    """An OPEN marker the sweep found due."""

    session_id: str
    task: Task


@dataclass(frozen=True)
class FinishedObject:
    """A completed recording's object, as its completion counts it and enters it in the retention index."""

    key: str
    size: int
    started_at: str

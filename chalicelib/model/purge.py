"""What purge, the background deletion and retention read back from the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.model.sessions import Session

Cursor = dict[str, Any]


@dataclass(frozen=True)
class Job:
    """A background job of the purge worker: a purge of generation `gen`, or the deletion of one record."""

    sk: str
    kind: str  # "purge" or "delete"
    created_at: int = 0  # epoch ms
    closed_at: int = 0  # epoch ms: when its records were hidden and their recordings closed
    lease_until: int = 0  # epoch ms: a worker carries it until then
    phase: str | None = None  # a purge's: close, SESSION, FILES, done
    cursor: Cursor | None = None  # a purge's checkpoint in the list it deletes
    gen: int = 0  # a purge's generation
    target: str | None = None  # a delete's kind (SESSION or FILES)
    id: str | None = None  # a delete's record id


@dataclass(frozen=True)
class RecStatus:
    """What purge and retention read of a session's live recording item (REC)."""

    state: str
    purged_from: str | None = None  # the state it had when a purge or delete closed it (state `purged`)
    upload_id: str | None = None
    bytes: int = 0  # what it counts in the storage total

    @property
    def working_state(self) -> str:
        """The state its work was in: before the purge closed it, if one did."""
        return self.purged_from if self.purged_from is not None else self.state


@dataclass(frozen=True)
class Remains:
    """Everything of one session (or file session) partition besides its META: what the worker deletes."""

    rows: tuple[str, ...]  # sort keys of every item but META and REC
    rec: RecStatus | None = None
    open_marker: bool = False


@dataclass(frozen=True)
class Retained:
    """A finished recording in the retention index (oldest first)."""

    session_id: str
    bytes: int
    key: str  # the object that holds it
    deleting: bool = False  # its expiry passed step 1: the object and this entry go next


@dataclass(frozen=True)
class AuditCheckpoint:
    """How far audit expiry walked each list (kind -> the list sort key it stopped at), in generation `gen`."""

    gen: int
    after: dict[str, str]


@dataclass(frozen=True)
class ReconcileCheckpoint:
    """Where reconciliation's pass over the bucket stands."""

    start_after: str | None = None
    objects: int = 0
    drift: int = 0


@dataclass(frozen=True)
class StoredSession:
    """A session's META, REC and RETAIN items as retention reads them together (None: not there)."""

    meta: Session | None = None
    rec: RecStatus | None = None
    retain: Retained | None = None

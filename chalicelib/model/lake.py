"""The audit lake as the domain sees it (docs/search.md): the outbox's marks, what a mark's records are when the
exporter reads them, and one row of the lake."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.model.audit import CommandRecord, Elapsed, FileEventRecord
from chalicelib.model.sessions import Meta

COMMANDS = "commands"
FILES = "files"
SESSIONS = "sessions"
LAKE_KINDS = (COMMANDS, FILES, SESSIONS)


@dataclass(frozen=True)
class LakeMark:
    """One outbox mark: the records of `kind` one write stored in the session's (or file session's) partition
    (`sort_keys`; none for a session's own mark, which stands for its META). `marked` and `nonce` are what the
    mark was when read: it is cleared only if it still is (a mark rewritten meanwhile stays for the next run)."""

    kind: str
    session_id: str
    pk: str
    sk: str
    sort_keys: tuple[str, ...]
    marked: str
    nonce: str


@dataclass(frozen=True)
class MarkedRecords:
    """A mark with what it names, read consistently: the session's META (None when the session is gone:
    missing, deleted or purged) and the records still there."""

    mark: LakeMark
    meta: Meta | None
    commands: tuple[CommandRecord, ...] = ()
    file_events: tuple[FileEventRecord, ...] = ()


@dataclass(frozen=True)
class LakeRow:
    """One row of the lake: every column of docs/search.md's schema (None: null). `at` and `ended_at` as
    stored; the lake writes them as `YYYY-MM-DDTHH:MM:SS.mmmZ` and takes the row's day from `at`."""

    id: str
    version: int
    session_id: str | None
    file_session_id: str | None
    user_id: str | None
    username: str | None
    connection_id: str | None
    connection_name: str | None
    protocol: str | None
    at: str
    elapsed: Elapsed | None
    text: str | None
    ended_at: str | None
    gen: int

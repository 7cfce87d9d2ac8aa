"""Sessions and file sessions as the domain and the API see them (the store builds them from their META items,
chalicelib/store/records.py), the settings that decide whether a session records, and a page of a list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
# the two kinds of session a record belongs to (store/keys.py prefixes their keys with them)
SESSION_KIND = "SESSION"
FILES_KIND = "FILES"
Cursor = dict[str, Any]  # where a list goes on: DynamoDB's LastEvaluatedKey, opaque above the store


@dataclass(frozen=True)
class Meta:
    """What sessions and file sessions share: who, how, when, and the purge's marks."""

    id: str
    user_id: str
    protocol: str
    started_at: str
    username: str | None = None
    connection_id: str | None = None
    connection_name: str | None = None
    ended_at: str | None = None
    gen: int = 0  # the purge generation the record belongs to
    on_hold: bool = False
    deleted: bool = False  # hidden by a single delete; the background deletion removes it
    has_recording: bool = False


@dataclass(frozen=True)
class Session(Meta):
    """A recorded session (SSH, Telnet, VNC, RDP). `recording_state` is None for a session that has no live
    recording item (REC) at all."""

    file_size: int = 0
    recording_state: str | None = None
    recording_key: str | None = None
    sha256: str | None = None
    missing_chunks: tuple[int, ...] = ()
    end_reason: str | None = None
    seekable: Mapping[str, Any] | None = None
    quota_exceeded: bool = False  # a chunk was refused by maxUserBytesPerDay (docs/recordings.md)


@dataclass(frozen=True)
class FileSession(Meta):
    """A file-transfer session (SFTP, FTP, SMB), created by its first batch of events."""

    event_count: int = 0


@dataclass(frozen=True)
class RecordingSettings:
    enabled: bool = False
    retention_days: int = 90
    max_total_bytes: int | None = None
    min_retention_days: int = 7  # size retention keeps every recording younger than this
    max_user_bytes_per_day: int | None = None  # chunk bytes a user may upload per UTC day (None: no cap)


@dataclass(frozen=True)
class Connection:
    id: str
    name: str | None = None
    recording_enabled: bool = True


@dataclass(frozen=True)
class ListQuery:
    """Which list to read. `start` and `end` are ISO times, inclusive."""

    kind: str
    user_id: str | None = None
    protocol: str | None = None
    start: str | None = None
    end: str | None = None
    gen: int = 0  # the purge generation whose list partitions are read


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `next_key` is None exactly on the last page."""

    items: list[T]
    next_key: Cursor | None
    items_read: int

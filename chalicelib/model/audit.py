"""Audit records as the domain and the API see them: SSH commands, RDP input events, file events, and the
entries of the access log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

Elapsed = int | float  # seconds since the session started, as the gateway sent it (type included)
ELAPSED_DIGITS = 12  # elapsed values are below 10**12 (the API refuses more; keys sort them): 31,000 years in seconds


class InputEvent(NamedTuple):
    elapsed: Elapsed
    event_type: str  # click, key or move


@dataclass(frozen=True)
class CommandRecord:
    id: str
    timestamp: str
    elapsed: Elapsed
    command: str
    output_preview: str


@dataclass(frozen=True)
class FileEventRecord:
    id: str
    timestamp: str
    action: str
    path: str
    detail: Any = None  # a JSON object, a string, or None
    received_at: str = ""


@dataclass(frozen=True)
class AccessEntry:
    """Who watched, downloaded, exported, purged, deleted, held or released what."""

    at: str
    user_id: str
    username: str
    action: str
    target: str
    ip: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AppendGuard:
    """What must still hold when records are appended to a session, checked by DynamoDB in the very transaction
    that writes them (so a hold or an end landing after the rights check still stops the write): the session
    exists and is not on hold; and for the owner's own write (`owner` set), the recording is the owner's and is
    open, or finalize was asked at or after `finalized_since_ms` (its grace period)."""

    owner: str | None = None
    finalized_since_ms: int = 0


class AppendRefusal(StrEnum):
    """Why a guarded append stored nothing."""

    GONE = "gone"  # the session is missing or deleted
    HELD = "held"  # on legal hold
    ENDED = "ended"  # the owner's recording is no longer open

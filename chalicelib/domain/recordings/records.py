"""Small rules over a recording that several pieces of the pipeline share."""

from __future__ import annotations

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.domain.sessions import VIDEO_PROTOCOLS
from chalicelib.errors import NotFound
from chalicelib.model.clock import iso_at
from chalicelib.model.recording import Recording
from chalicelib.settings import Settings
from chalicelib.store import keys


def media(protocol: str) -> tuple[str, str]:
    """(file extension, Content-Type) of a protocol's recordings."""
    return ("webm", "video/webm") if protocol in VIDEO_PROTOCOLS else ("cast", "application/x-asciicast")


def object_key(rec: Recording) -> str:
    """Where the recording's object is written (the client's bytes, before any seekable rewrite)."""
    return keys.recording_key(rec.session_id, media(rec.protocol)[0])


def writable(caller: Caller, rec: Recording | None) -> Recording:
    """The recording, or 404 when it is missing or the caller may not write into it, 403 for its owner when the
    gateway's server records it (access.browser_writer's rule)."""
    if rec is None:
        raise NotFound("session not found")
    access.browser_writer(caller, rec.user_id, rec.protocol)
    return rec


def idle_timeout(settings: Settings, protocol: str) -> int:
    """Seconds without a chunk after which the sweep closes a recording."""
    if protocol in VIDEO_PROTOCOLS:
        return settings.idle_timeout_video_seconds
    return settings.idle_timeout_terminal_seconds


def started_at(rec: Recording) -> str:
    """The session's start as META has it (REC items written before it was stored there: from the ms)."""
    return rec.started_at or iso_at(rec.started_ms / 1000)

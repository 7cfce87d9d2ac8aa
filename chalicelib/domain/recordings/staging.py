"""Staged chunks: each committed chunk (or merge of chunks) is an S3 object under staging/<sessionId>/ until
its bytes are in a part or the finished object."""

from __future__ import annotations

import logging
from typing import Iterable

from chalicelib.model.recording import Segment
from chalicelib.store import keys
from chalicelib.store.objects import MissingObject, RecordingObjects

log = logging.getLogger("session_audit.recordings")


class LostChunk(Exception):
    """A staged object a commit refers to is gone: the recording cannot be exact any more."""


def read(objects: RecordingObjects, session_id: str, segments: Iterable[Segment]) -> bytes:
    """The segments' bytes in order; LostChunk when one is gone or holds other than its size."""
    pieces = []
    for segment in segments:
        try:
            piece = objects.get(keys.staging_key(session_id, segment.name))
        except MissingObject as exc:
            raise LostChunk(segment.name) from exc
        if len(piece) != segment.size:
            raise LostChunk(segment.name)
        pieces.append(piece)
    return b"".join(pieces)


def delete(objects: RecordingObjects, session_id: str, segments: Iterable[Segment]) -> None:
    objects.delete(keys.staging_key(session_id, s.name) for s in segments)


def clean(objects: RecordingObjects, session_id: str, queue: Iterable[Segment] = ()) -> None:
    """Delete the queue's objects and every leftover under the session's staging prefix (best effort: the
    sweep's cleanup task retries)."""
    try:
        leftovers = objects.list_keys(keys.staging_prefix(session_id))
        objects.delete([keys.staging_key(session_id, s.name) for s in queue if s.size] + leftovers)
    except Exception:
        log.warning("staging cleanup of %s failed; the sweep retries", session_id, exc_info=True)

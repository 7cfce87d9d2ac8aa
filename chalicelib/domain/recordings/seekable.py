"""The seekable rewrite of a complete WebM (docs/seekable-webm.md): a new head with Duration and Cues, the middle
copied inside S3, the client's exact bytes still rebuildable from the result (webm.rebuild)."""

from __future__ import annotations

import json
import logging

from chalicelib.domain.sessions import VIDEO_PROTOCOLS
from chalicelib.media import webm
from chalicelib.store import keys
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.recordings import RecordingRepository

log = logging.getLogger("session_audit.recordings")

SCAN_BLOCK_BYTES = 8 * 1024 * 1024


class SeekableRewrite:
    def __init__(self, repo: RecordingRepository, objects: RecordingObjects) -> None:
        self._repo = repo
        self._objects = objects

    def make_seekable(self, session_id: str) -> None:
        """Rewrite a complete WebM under the seekable key (its middle copied inside S3), verify it, point the
        session at it, then delete the client's object: until that point the original is untouched, and after it
        the client's exact bytes are rebuilt from the new object (webm.rebuild). Each step can be repeated."""
        meta = self._repo.meta(session_id)
        if not meta or not meta.has_recording or not meta.recording_key or meta.protocol not in VIDEO_PROTOCOLS:
            return
        original = keys.recording_key(session_id, "webm")
        target = keys.seekable_key(session_id)
        if meta.seekable:
            if meta.recording_key == target:
                self._objects.delete([original])  # a crash came between the switch and this delete
            return
        source = meta.recording_key
        writer = self._objects.seekable_writer()
        try:
            index = self._webm_index(session_id, source, meta.file_size)
            done = writer.rewrite(source, target, index)
        except webm.Unsupported as exc:
            log.info("recording %s stays as recorded: %s", session_id, exc)
            self._repo.update_meta(session_id, {"seekable": {"indexed": False, "reason": str(exc)[:200]}},
                                   only_if_missing="seekable")
            return
        writer.verify(source, done)  # raises on any difference: the original stays and the sweep retries
        # the storage total counts what is stored: the few KB of head and Cues join it in the same transaction
        # (fileSize and sha256 keep describing the client's bytes, which the stored object rebuilds)
        switched = self._repo.switch_to_seekable(session_id, source, target, meta.file_size, done.size, {
            "indexed": True, "storedSize": done.size, "cues": len(index.cues),
            "durationMs": round(index.duration_seconds * 1000)})
        now = self._repo.meta(session_id)
        if switched or (now is not None and now.recording_key == target):
            self._objects.delete([source])
        else:  # expired, deleted or purged meanwhile: the unused rewrite is an orphan reconciliation removes
            log.info("recording %s changed during its seekable rewrite; left as it is", session_id)

    def _webm_index(self, session_id: str, key: str, size: int) -> webm.Index:
        """What the parts' scans learnt; for a recording that never reached a part (or whose parts went
        unscanned), a scan of the object itself, streamed."""
        parts = self._repo.part_indexes(session_id)
        if parts and all(part.state for part in parts):
            scanner = webm.Scanner.resume(json.loads(str(parts[-1].state)))
            if scanner.state.pos == size:
                return scanner.finish([part.cues for part in parts])
        scanner = webm.Scanner()
        for at in range(0, size, SCAN_BLOCK_BYTES):
            scanner.feed(self._objects.read_range(key, at, min(size, at + SCAN_BLOCK_BYTES)))
        return scanner.finish()

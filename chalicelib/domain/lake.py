"""lake_export (scheduled): the outbox's marks become rows of the audit lake (docs/search.md, "The outbox").

A run pages each shard's pending marks (oldest first), reads what they name (the records, the sessions' and file
sessions' META, consistently), writes one JSON-lines object per kind and day, and only then clears each mark,
on the condition that it is still as read. At least once: a run that dies after a PutObject and before its clears
leaves the marks, and the next run writes the same rows again (readers keep one row per `id`, the highest
`version`). A mark of a session that is gone (missing, deleted, purged) is cleared and its rows dropped. Bounded by
LAKE_EXPORT_BUDGET_SECONDS; what is left waits for the next run.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from chalicelib.model.clock import Clock
from chalicelib.model.lake import COMMANDS, FILES, LAKE_KINDS, LakeMark, LakeRow, MarkedRecords
from chalicelib.model.sessions import Meta, Session
from chalicelib.store import keys
from chalicelib.store.lake import LakeObjects, lake_time
from chalicelib.store.outbox import Outbox

log = logging.getLogger("session_audit.lake")

PAGE_MARKS = 100  # marks a Query of the index reads
ROUND_KEYS = 20_000  # records a round reads before it writes its objects and clears its marks (bounds memory)


def _who(meta: Meta) -> dict[str, Any]:
    return {"user_id": meta.user_id, "username": meta.username, "connection_id": meta.connection_id,
            "connection_name": meta.connection_name, "protocol": meta.protocol}


def summary(meta: Meta) -> str:
    """A session's text in the lake: who, how, where, and what became of its recording."""
    parts = [meta.username or meta.user_id, meta.protocol, meta.connection_name or meta.connection_id or ""]
    if isinstance(meta, Session) and meta.recording_state:
        parts.append(f"recording {meta.recording_state}")
        if meta.has_recording:
            parts.append(f"{meta.file_size} bytes")
    return " ".join(part for part in parts if part)


def rows_of(marked: MarkedRecords, version: int) -> list[LakeRow]:
    """The lake rows of a mark whose session is there (`version`: when its META was read, for a session's row)."""
    meta, mark = marked.meta, marked.mark
    if meta is None:
        return []
    if mark.kind == COMMANDS:
        return [LakeRow(id=f"{meta.id}/{c.id}", version=0, session_id=meta.id, file_session_id=None, **_who(meta),
                        at=c.timestamp, elapsed=c.elapsed, text=c.command, ended_at=None, gen=meta.gen)
                for c in marked.commands]
    if mark.kind == FILES:
        return [LakeRow(id=f"{meta.id}/{e.id}", version=0, session_id=None, file_session_id=meta.id, **_who(meta),
                        at=e.timestamp, elapsed=None, text=f"{e.action} {e.path}", ended_at=None, gen=meta.gen)
                for e in marked.file_events]
    return [LakeRow(id=meta.id, version=version, session_id=meta.id, file_session_id=None, **_who(meta),
                    at=meta.started_at, elapsed=None, text=summary(meta), ended_at=meta.ended_at, gen=meta.gen)]


def _readable(row: LakeRow) -> bool:
    try:
        lake_time(row.at)
        if row.ended_at:
            lake_time(row.ended_at)
    except ValueError:
        return False
    return True


def _report() -> dict[str, int]:
    return {"marks": 0, "rows": 0, "objects": 0, "cleared": 0, "kept": 0, "dropped": 0, "unreadable": 0,
            "errors": 0}


class LakeExporter:
    def __init__(self, outbox: Outbox, lake: LakeObjects, clock: Clock, budget_seconds: float,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12]) -> None:
        self._outbox = outbox
        self._lake = lake
        self._clock = clock
        self._budget = budget_seconds
        self._new_id = new_id

    def run(self) -> dict[str, int]:
        """Export what is pending, round after round, until nothing is or the budget is spent; the counts, also
        logged as one JSON line (`lakeExport`)."""
        deadline = self._clock.now() + self._budget
        report = _report()
        round_marks: list[LakeMark] = []
        try:
            for marks in self._pending(deadline):
                round_marks.extend(marks)
                if sum(len(mark.sort_keys) + 1 for mark in round_marks) >= ROUND_KEYS:
                    self._export(round_marks, report)
                    round_marks = []
            if round_marks:
                self._export(round_marks, report)
        except Exception:  # what is not cleared stays marked: the next run takes it up again
            report["errors"] += 1
            log.exception("lake export stopped")
        log.info(json.dumps({"lakeExport": report}, sort_keys=True))
        return report

    def _pending(self, deadline: float) -> Iterator[list[LakeMark]]:
        """Pages of pending marks, shard after shard (starting at another shard each minute, so that a backlog
        bigger than one run's budget does not starve the last shards), until the deadline."""
        first = int(self._clock.now() // 60) % keys.LAKE_SHARDS
        for step in range(keys.LAKE_SHARDS):
            shard = (first + step) % keys.LAKE_SHARDS
            cursor = None
            while True:
                if self._clock.now() >= deadline:
                    return
                marks, cursor = self._outbox.pending(shard, PAGE_MARKS, cursor)
                if marks:
                    yield marks
                if cursor is None:
                    break

    def _export(self, marks: Sequence[LakeMark], report: dict[str, int]) -> None:
        """One round: read, write one object per (kind, day), then clear each mark if it is still as read."""
        version = self._clock.now_ms()  # META is read from now on: a later run reads a later META
        marked = self._outbox.read(marks)
        rows: dict[str, list[LakeRow]] = {kind: [] for kind in LAKE_KINDS}
        for one in marked:
            if one.meta is None:
                report["dropped"] += 1
            found = rows_of(one, version)
            readable = [row for row in found if _readable(row)]
            report["unreadable"] += len(found) - len(readable)
            rows.setdefault(one.mark.kind, []).extend(readable)
        run = f"{self._clock.iso_now().replace('-', '').replace(':', '').replace('.', '')}-{self._new_id()}"
        for kind, found in rows.items():
            if found:
                report["objects"] += len(self._lake.write(kind, run, found))
                report["rows"] += len(found)
        cleared = self._outbox.clear_all(marks)
        report["marks"] += len(marks)
        report["cleared"] += cleared
        report["kept"] += len(marks) - cleared

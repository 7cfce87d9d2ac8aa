"""Purge, single deletes and legal holds; the background worker that deletes what they hid
(docs/purge-retention.md).

A purge answers at once: it closes the current purge generation (one transaction), reads that generation's
exact totals from the sharded counters, moves the held sessions into the new generation and starts the worker.
Nothing of the old generation is visible from then on. The worker then deletes it in batches, objects before
the rows that point to them, META last, checkpointing its place in the job item so a killed worker resumes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable

from chalicelib.domain import access
from chalicelib.domain import access_log as actions
from chalicelib.domain.access import Caller
from chalicelib.domain.access_log import AccessLog
from chalicelib.domain.recordings import media
from chalicelib.errors import Conflict, NotFound, Unavailable
from chalicelib.model.clock import SYSTEM_CLOCK, Clock, iso
from chalicelib.model.purge import Job, Remains
from chalicelib.model.recording import DONE_STATES
from chalicelib.model.sessions import Meta, Session
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.counters import Counters
from chalicelib.store.dynamo import ConditionFailed
from chalicelib.store.generations import Generations
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.purge import Doomed, PurgeRepository

log = logging.getLogger("session_audit.purge")

WORKER = "purge_worker"
PAGE = 100  # sessions per batch of the worker: one BatchGetItem confirms them
ATTEMPTS = 4


@dataclass
class WorkSummary:
    sessions: int = 0
    fileSessions: int = 0
    objects: int = 0
    rows: int = 0
    aborted: int = 0
    jobsDone: int = 0
    jobsLeft: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "calls"}


def start_worker(invoke: Callable[[str], None]) -> None:
    try:
        invoke(WORKER)
    except Exception:
        # the job is filed: retention_sweep starts the worker on its next run
        log.exception("could not start the purge worker; retention_sweep will")


def move_holds(repo: PurgeRepository, current: int, count_in: int | None = None) -> tuple[int, int]:
    """Move every held session and file session of an older generation into `current`; the number of held
    sessions of generation `count_in` that have a recording, and of those moved."""
    held = [m for m in repo.held() if m.on_hold and not m.deleted]
    recordings = sum(1 for m in held if m.gen == count_in and m.has_recording)
    stale = [m for m in held if m.gen < current]
    if stale:
        repo.move_held(stale, current)
    return recordings, len(stale)


def _what(kind: str) -> str:
    return "file session" if kind == keys.FILES else "session"


def _target(kind: str, item_id: str) -> str:
    return actions.file_session_target(item_id) if kind == keys.FILES else actions.session_target(item_id)


class PurgeService:
    def __init__(
        self,
        repo: PurgeRepository,
        generations: Generations,
        counters: Counters,
        objects: RecordingObjects,
        access_log: AccessLog,
        settings: Settings,
        invoke: Callable[[str], None],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._repo = repo
        self._generations = generations
        self._counters = counters
        self._log = access_log
        self._invoke = invoke
        self._clock = clock
        self._worker = PurgeWorker(repo, generations, objects, settings, invoke, clock)

    # ================================================================ DELETE /sessions
    def purge(self, caller: Caller, ip: str | None) -> dict[str, Any]:
        access.require(caller, access.DELETE)
        for _attempt in range(ATTEMPTS):
            gen = self._generations.current()
            try:
                self._repo.bump(gen, self._now_ms())
                break
            except ConditionFailed:
                continue  # another purge closed it first: close the next one
        else:
            raise Unavailable("purges are running concurrently, retry")
        # Closed: nothing can be created, held, released, deleted or counted in `gen` any more, so its totals
        # are final; the held sessions' recordings are read after the close for the same reason.
        totals = self._counters.generation(gen)
        held_recordings, kept = move_holds(self._repo, gen + 1, count_in=gen)
        answer = {
            "ok": True,
            "deletedSessions": totals["sessions"] - totals["heldSessions"],
            "deletedRecordings": totals["recordings"] - held_recordings,
            "deletedFileSessions": totals["fileSessions"] - totals["heldFileSessions"],
            # every held session this purge passed over: also those an earlier purge closed but died before
            # moving (they are moved now), which `gen`'s own totals do not count
            "keptOnHold": kept,
        }
        start_worker(self._invoke)
        log.info(json.dumps({"purge": {"generation": gen, **answer, "by": caller.user_id}}, sort_keys=True))
        self._log.record_done(caller, actions.PURGE, "sessions", ip,
                              **{k: v for k, v in answer.items() if k != "ok"})
        return answer

    # ================================================================ single deletes
    def delete(self, caller: Caller, kind: str, item_id: str, ip: str | None) -> None:
        access.require(caller, access.DELETE)
        what = _what(kind)
        for _attempt in range(ATTEMPTS):
            meta = self._generations.visible(kind, item_id)
            if meta is None:
                raise NotFound(f"{what} not found")
            if meta.on_hold:
                raise Conflict("the session is on legal hold; release the hold first", onHold=True)
            try:
                self._repo.hide(kind, meta, meta.gen, self._now_ms())
                break
            except ConditionFailed:
                continue  # held, deleted, purged or changed meanwhile: look again
        else:
            raise Unavailable(f"the {what} is changing, retry")
        start_worker(self._invoke)
        self._log.record_done(caller, actions.DELETE, _target(kind, item_id), ip)

    # ================================================================ legal holds
    def hold(self, caller: Caller, kind: str, item_id: str, ip: str | None) -> None:
        """Put a session (kind SESSION) or file session (FILES) on legal hold; holding twice is holding."""
        access.require(caller, access.DELETE)
        for _attempt in range(ATTEMPTS):
            meta = self._visible(kind, item_id)
            if meta.on_hold:
                break  # holding twice is holding
            try:
                self._repo.hold(meta, meta.gen, caller.user_id, iso(self._now()))
                break
            except ConditionFailed:
                continue
        else:
            raise Unavailable(f"the {_what(kind)} is changing, retry")
        self._log.record_done(caller, actions.HOLD, _target(kind, item_id), ip)

    def release(self, caller: Caller, kind: str, item_id: str, ip: str | None) -> None:
        access.require(caller, access.DELETE)
        for _attempt in range(ATTEMPTS):
            meta = self._visible(kind, item_id)
            if not meta.on_hold:
                break
            current = self._generations.current()
            if meta.gen != current:
                move_holds(self._repo, current)  # a purge that died before moving it: finish its work first
                continue
            try:
                self._repo.release(meta, current)
            except ConditionFailed:
                continue
            # audit expiry walked past it while it was held: let it walk again from there
            self._repo.rewind_audit(kind, current, f"{meta.started_at}#")
            break
        else:
            raise Unavailable(f"the {_what(kind)} is changing, retry")
        self._log.record_done(caller, actions.RELEASE, _target(kind, item_id), ip)

    def _visible(self, kind: str, item_id: str) -> Meta:
        meta = self._generations.visible(kind, item_id)
        if meta is None or (kind == keys.SESSION and not isinstance(meta, Session)):
            raise NotFound(f"{_what(kind)} not found")
        return meta

    # ================================================================ the worker
    def work(self) -> dict[str, Any]:
        """Carry the pending jobs on until the budget is spent; bounded, resumable (docs/purge-retention.md)."""
        return self._worker.work()

    def resume(self) -> bool:
        """Start the worker if a job waits with no live worker on it (a worker that died); True if started."""
        return self._worker.resume()

    def _now(self) -> datetime:
        return self._clock.utc()

    def _now_ms(self) -> int:
        return self._clock.now_ms()


class PurgeWorker:
    """purge_worker: deletes what purges and single deletes hid, job by job, within a time budget."""

    def __init__(self, repo: PurgeRepository, generations: Generations, objects: RecordingObjects,
                 settings: Settings, invoke: Callable[[str], None], clock: Clock) -> None:
        self._repo = repo
        self._generations = generations
        self._objects = objects
        self._settings = settings
        self._invoke = invoke
        self._clock = clock

    def work(self) -> dict[str, Any]:
        deadline = self._clock.now() + self._settings.worker_budget_seconds
        summary = WorkSummary()
        move_holds(self._repo, self._generations.current())
        unfinished = False
        for job in sorted(self._repo.jobs(), key=lambda j: j.sk):
            if self._clock.now() >= deadline:
                unfinished = True
                break
            if not self._repo.claim(job, int((deadline + 60) * 1000), self._now_ms()):
                continue  # another worker carries it
            try:
                done = self._run_job(job, deadline, summary)
            except Exception:
                log.exception("purge job %s failed; it resumes on the next run", job.sk)
                self._repo.update_job(job.sk, {}, remove=["leaseUntil"])
                unfinished = True
                continue
            if done:
                summary.jobsDone += 1
            else:
                unfinished = True
                self._repo.update_job(job.sk, {}, remove=["leaseUntil"])
        summary.jobsLeft = len(self._repo.jobs())
        log.info(json.dumps({"purgeWorker": summary.as_dict()}, sort_keys=True))
        if unfinished and summary.jobsLeft:
            start_worker(self._invoke)  # the next run carries on where this one stopped
        return summary.as_dict()

    def resume(self) -> bool:
        now = self._now_ms()
        if any(job.lease_until < now for job in self._repo.jobs()):
            start_worker(self._invoke)
            return True
        return False

    def _run_job(self, job: Job, deadline: float, summary: WorkSummary) -> bool:
        if job.kind == "delete":
            if not self._settled(job, deadline):
                return False
            kind = str(job.target)
            metas = [m for m in self._repo.metas(kind, [str(job.id)]) if m.deleted]
            self._reap(kind, metas, None, summary)
            self._repo.delete_job(job.sk)
            return True
        if job.phase == "close":
            self._close_open_recordings(job.gen)
            closed_at = self._now_ms()
            self._repo.update_job(job.sk, {"phase": keys.SESSION, "closedAt": closed_at})
            job = replace(job, phase=keys.SESSION, closed_at=closed_at)
        if not self._settled(job, deadline):
            return False
        for kind in (keys.SESSION, keys.FILES):
            if job.phase != kind:
                continue
            if not self._purge_list(job, kind, deadline, summary):
                return False
            following = keys.FILES if kind == keys.SESSION else "done"
            self._repo.update_job(job.sk, {"phase": following}, remove=["cursor"])
            job = replace(job, phase=following, cursor=None)
        self._repo.delete_job(job.sk)
        log.info(json.dumps({"purgeDone": {"generation": job.gen}}))
        return True

    def _purge_list(self, job: Job, kind: str, deadline: float, summary: WorkSummary) -> bool:
        """Delete every record of `kind` listed in the job's generation, page after page from its checkpoint;
        False when the budget ran out first."""
        cursor = job.cursor
        while True:
            if self._clock.now() >= deadline:
                return False
            page, cursor = self._repo.generation_page(kind, job.gen, cursor, PAGE)
            # the index lags the table: the item itself decides (a held one moved on; a deleted one has its own
            # job)
            metas = [m for m in page if m.gen == job.gen and not m.on_hold and not m.deleted]
            self._reap(kind, metas, job.gen, summary)
            if cursor is None:
                return True
            self._repo.update_job(job.sk, {"cursor": cursor})  # the checkpoint: everything before it is done

    def _settled(self, job: Job, deadline: float) -> bool:
        """Requests that read the records before they were hidden may still be writing (an API call lives
        29 s, a compaction lease 180 s): deletion starts PURGE_SETTLE_SECONDS after they were hidden and their
        recordings closed, so nothing lands after the worker has passed."""
        due = max(job.created_at, job.closed_at) / 1000 + self._settings.purge_settle_seconds
        now = self._clock.now()
        if now >= due:
            return True
        if due > deadline:
            return False
        self._clock.sleep(due - now)
        return True

    def _close_open_recordings(self, gen: int) -> None:
        """Every recording of generation `gen` still open (or completing) stops accepting chunks now: they all
        have an OPEN marker, in a sparse index of their own."""
        cursor: Any = None
        while True:
            metas, cursor = self._repo.open_recordings_page(cursor, PAGE)
            for meta in metas:
                if meta.gen == gen and not meta.on_hold:
                    self._repo.close_recording(meta.id, self._now_ms())
            if cursor is None:
                return

    def _reap(self, kind: str, metas: list[Meta], purged_gen: int | None, summary: WorkSummary) -> None:
        """Delete everything of these records: objects (and open uploads) first, then their rows, META and REC
        last (with the bytes they still count taken off the storage total in the same transaction). Their META
        must still be of generation `purged_gen` (a purge's), or marked deleted (None: a single delete's)."""
        if not metas:
            return
        object_keys: list[str] = []
        rows: list[tuple[str, str]] = []
        doomed: list[Doomed] = []
        for meta in metas:
            pk = f"{kind}#{meta.id}"
            remains = self._repo.remains(kind, meta.id)
            rows.extend((pk, sk) for sk in remains.rows)
            size = 0
            if isinstance(meta, Session):
                size = self._recording_objects(meta, remains, object_keys, summary)
            doomed.append(Doomed(pk, remains.rec is not None, size, purged_gen))
        self._objects.delete(object_keys)
        summary.objects += len(object_keys)
        self._repo.delete_rows(rows)
        summary.rows += len(rows)
        deleted = self._repo.delete_last(doomed)
        if kind == keys.SESSION:
            summary.sessions += deleted
        else:
            summary.fileSessions += deleted

    def _recording_objects(self, meta: Session, remains: Remains, object_keys: list[str],
                           summary: WorkSummary) -> int:
        """Collect the session's objects (aborting its open multipart upload); the bytes it still counts."""
        rec = remains.rec
        if rec is None and not meta.has_recording:
            return 0
        key = meta.recording_key or keys.recording_key(meta.id, media(meta.protocol)[0])
        object_keys.append(key)
        if rec is None:
            return meta.file_size
        state = rec.working_state
        if state not in DONE_STATES and rec.upload_id:
            self._objects.abort_upload(key, rec.upload_id)
            summary.aborted += 1
        if state not in DONE_STATES or remains.open_marker:
            object_keys.extend(self._objects.list_keys(keys.staging_prefix(meta.id)))
        return rec.bytes

    def _now_ms(self) -> int:
        return self._clock.now_ms()

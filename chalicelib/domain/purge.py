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
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib.domain import access
from chalicelib.domain import access_log as actions
from chalicelib.domain.access import Caller
from chalicelib.domain.access_log import AccessLog
from chalicelib.domain.recordings import media
from chalicelib.domain.sessions import iso
from chalicelib.errors import Conflict, NotFound, Unavailable
from chalicelib.model.recording import DONE_STATES, PURGED
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.counters import Counters
from chalicelib.store.dynamo import ConditionFailed
from chalicelib.store.generations import Generations, generation_of
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.purge import Doomed, PurgeRepository

log = logging.getLogger("session_audit.purge")

WORKER = "purge_worker"
PAGE = 100  # sessions per batch of the worker: one BatchGetItem confirms them
ATTEMPTS = 4
Item = dict[str, Any]


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
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self._generations = generations
        self._counters = counters
        self._objects = objects
        self._log = access_log
        self._settings = settings
        self._invoke = invoke
        self._clock = clock
        self._sleep = sleep

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
        held_recordings, kept = self._move_holds(gen + 1, count_in=gen)
        answer = {
            "ok": True,
            "deletedSessions": totals["sessions"] - totals["heldSessions"],
            "deletedRecordings": totals["recordings"] - held_recordings,
            "deletedFileSessions": totals["fileSessions"],
            # every held session this purge passed over: also those an earlier purge closed but died before
            # moving (they are moved now), which `gen`'s own totals do not count
            "keptOnHold": kept,
        }
        self._start_worker()
        log.info(json.dumps({"purge": {"generation": gen, **answer, "by": caller.user_id}}, sort_keys=True))
        self._log.record_done(caller, actions.PURGE, "sessions", ip,
                              **{k: v for k, v in answer.items() if k != "ok"})
        return answer

    def _move_holds(self, current: int, count_in: int | None = None) -> tuple[int, int]:
        """Move every held session of an older generation into `current`; the number of held sessions of
        generation `count_in` that have a recording, and of those moved."""
        ids = self._repo.held_ids()
        if not ids:
            return 0, 0
        found = self._repo.get_many([{"PK": keys.session_pk(i), "SK": keys.META} for i in ids])
        held = [m for m in found.values() if m.get("onHold") and not m.get("deleted")]
        recordings = sum(1 for m in held if generation_of(m) == count_in and m.get("hasRecording"))
        stale = [m for m in held if generation_of(m) < current]
        if stale:
            self._repo.move_held(stale, current)
        return recordings, len(stale)

    # ================================================================ single deletes
    def delete(self, caller: Caller, kind: str, item_id: str, ip: str | None) -> None:
        access.require(caller, access.DELETE)
        pk = f"{kind}#{item_id}"
        what = "file session" if kind == keys.FILES else "session"
        for _attempt in range(ATTEMPTS):
            meta = self._generations.visible_meta(pk)
            if meta is None:
                raise NotFound(f"{what} not found")
            if meta.get("onHold"):
                raise Conflict("the session is on legal hold; release the hold first", onHold=True)
            try:
                self._repo.hide(kind, meta, generation_of(meta), self._now_ms())
                break
            except ConditionFailed:
                continue  # held, deleted, purged or changed meanwhile: look again
        else:
            raise Unavailable(f"the {what} is changing, retry")
        self._start_worker()
        target = actions.file_session_target(item_id) if kind == keys.FILES else actions.session_target(item_id)
        self._log.record_done(caller, actions.DELETE, target, ip)

    # ================================================================ legal holds
    def hold(self, caller: Caller, session_id: str, ip: str | None) -> None:
        access.require(caller, access.DELETE)
        for _attempt in range(ATTEMPTS):
            meta = self._visible_session(session_id)
            if meta.get("onHold"):
                break  # holding twice is holding
            try:
                self._repo.hold(meta, generation_of(meta), caller.user_id, iso(self._now()))
                break
            except ConditionFailed:
                continue
        else:
            raise Unavailable("the session is changing, retry")
        self._log.record_done(caller, actions.HOLD, actions.session_target(session_id), ip)

    def release(self, caller: Caller, session_id: str, ip: str | None) -> None:
        access.require(caller, access.DELETE)
        for _attempt in range(ATTEMPTS):
            meta = self._visible_session(session_id)
            if not meta.get("onHold"):
                break
            current = self._generations.current()
            if generation_of(meta) != current:
                self._move_holds(current)  # a purge that died before moving it: finish its work first
                continue
            try:
                self._repo.release(meta, current)
            except ConditionFailed:
                continue
            # audit expiry walked past it while it was held: let it walk again from there
            self._repo.rewind_audit(keys.SESSION, current, f"{meta['startedAt']}#")
            break
        else:
            raise Unavailable("the session is changing, retry")
        self._log.record_done(caller, actions.RELEASE, actions.session_target(session_id), ip)

    def _visible_session(self, session_id: str) -> Item:
        meta = self._generations.visible_meta(keys.session_pk(session_id))
        if meta is None:
            raise NotFound("session not found")
        return meta

    # ================================================================ the worker
    def work(self) -> dict[str, Any]:
        """Carry the pending jobs on until the budget is spent; bounded, resumable (docs/purge-retention.md)."""
        deadline = self._clock() + self._settings.worker_budget_seconds
        summary = WorkSummary()
        self._move_holds(self._generations.current())
        unfinished = False
        for job in sorted(self._repo.jobs(), key=lambda j: str(j["SK"])):
            if self._clock() >= deadline:
                unfinished = True
                break
            if not self._repo.claim(job, int((deadline + 60) * 1000), self._now_ms()):
                continue  # another worker carries it
            try:
                done = self._run_job(job, deadline, summary)
            except Exception:
                log.exception("purge job %s failed; it resumes on the next run", job["SK"])
                self._repo.update_job(str(job["SK"]), {}, remove=["leaseUntil"])
                unfinished = True
                continue
            if done:
                summary.jobsDone += 1
            else:
                unfinished = True
                self._repo.update_job(str(job["SK"]), {}, remove=["leaseUntil"])
        summary.jobsLeft = len(self._repo.jobs())
        log.info(json.dumps({"purgeWorker": summary.as_dict()}, sort_keys=True))
        if unfinished and summary.jobsLeft:
            self._start_worker()  # the next run carries on where this one stopped
        return summary.as_dict()

    def resume(self) -> bool:
        """Start the worker if a job waits with no live worker on it (a worker that died); True if started."""
        now = self._now_ms()
        if any(int(job.get("leaseUntil", 0)) < now for job in self._repo.jobs()):
            self._start_worker()
            return True
        return False

    def _run_job(self, job: Item, deadline: float, summary: WorkSummary) -> bool:
        sk = str(job["SK"])
        if job.get("kind") == "delete":
            if not self._settled(job, deadline):
                return False
            kind = str(job["target"])
            found = self._repo.get_many([{"PK": f"{kind}#{job['id']}", "SK": keys.META}])
            metas = [m for m in found.values() if m.get("deleted")]
            self._reap(kind, metas, "deleted = :true", {":true": True}, summary)
            self._repo.delete_job(sk)
            return True
        gen = int(job["gen"])
        if job.get("phase") == "close":
            self._close_open_recordings(gen)
            closed_at = self._now_ms()
            self._repo.update_job(sk, {"phase": keys.SESSION, "closedAt": closed_at})
            job.update(phase=keys.SESSION, closedAt=closed_at)
        if not self._settled(job, deadline):
            return False
        condition = ("(attribute_not_exists(#gen) OR #gen = :gen)" if gen == 0 else "#gen = :gen") + \
            " AND attribute_not_exists(onHold) AND attribute_not_exists(deleted)"
        for kind in (keys.SESSION, keys.FILES):
            if job.get("phase") != kind:
                continue
            cursor = job.get("cursor")
            while True:
                if self._clock() >= deadline:
                    return False
                page, cursor = self._repo.list_page(keys.all_pk(kind, gen), cursor, PAGE)
                found = self._repo.get_many([{"PK": str(i["PK"]), "SK": keys.META} for i in page])
                # the index lags the table: the item itself decides (a held one moved on; a deleted one has
                # its own job)
                metas = [m for m in found.values() if generation_of(m) == gen and not m.get("onHold")
                         and not m.get("deleted")]
                self._reap(kind, metas, condition, {":gen": gen}, summary)
                if cursor is None:
                    break
                self._repo.update_job(sk, {"cursor": cursor})  # the checkpoint: everything before it is done
            following = keys.FILES if kind == keys.SESSION else "done"
            self._repo.update_job(sk, {"phase": following}, remove=["cursor"])
            job["phase"] = following
            job.pop("cursor", None)
        self._repo.delete_job(sk)
        log.info(json.dumps({"purgeDone": {"generation": gen}}))
        return True

    def _settled(self, job: Item, deadline: float) -> bool:
        """Requests that read the records before they were hidden may still be writing (an API call lives
        29 s, a compaction lease 180 s): deletion starts PURGE_SETTLE_SECONDS after they were hidden and their
        recordings closed, so nothing lands after the worker has passed."""
        due = max(int(job.get("createdAt", 0)), int(job.get("closedAt", 0))) / 1000 + \
            self._settings.purge_settle_seconds
        now = self._clock()
        if now >= due:
            return True
        if due > deadline:
            return False
        self._sleep(due - now)
        return True

    def _close_open_recordings(self, gen: int) -> None:
        """Every recording of generation `gen` still open (or completing) stops accepting chunks now: they all
        have an OPEN marker, in a sparse index of their own."""
        cursor: Item | None = None
        while True:
            markers, cursor = self._repo.list_page(keys.OPEN_PK, cursor, PAGE)
            found = self._repo.get_many([{"PK": str(m["PK"]), "SK": keys.META} for m in markers])
            for meta in found.values():
                if generation_of(meta) == gen and not meta.get("onHold"):
                    self._repo.close_recording(str(meta["id"]), self._now_ms())
            if cursor is None:
                return

    def _reap(self, kind: str, metas: list[Item], condition: str, values: dict[str, Any],
              summary: WorkSummary) -> None:
        """Delete everything of these sessions: objects (and open uploads) first, then their rows, META and REC
        last (with the bytes they still count taken off the storage total in the same transaction)."""
        if not metas:
            return
        object_keys: list[str] = []
        rows: list[Item] = []
        doomed: list[Doomed] = []
        for meta in metas:
            pk = str(meta["PK"])
            items = self._repo.query_all(pk)
            rec = next((i for i in items if i["SK"] == keys.REC), None)
            rows.extend({"PK": pk, "SK": i["SK"]} for i in items if i["SK"] not in (keys.META, keys.REC))
            size = 0
            if kind == keys.SESSION:
                size = self._recording_objects(meta, rec, items, object_keys, summary)
            doomed.append(Doomed(pk, condition, values, rec is not None, size))
        self._objects.delete(object_keys)
        summary.objects += len(object_keys)
        self._repo.delete_rows(rows)
        summary.rows += len(rows)
        deleted = self._repo.delete_last(doomed)
        if kind == keys.SESSION:
            summary.sessions += deleted
        else:
            summary.fileSessions += deleted

    def _recording_objects(self, meta: Item, rec: Item | None, items: list[Item], object_keys: list[str],
                           summary: WorkSummary) -> int:
        """Collect the session's objects (aborting its open multipart upload); the bytes it still counts."""
        session_id = str(meta["id"])
        if rec is None and not meta.get("hasRecording"):
            return 0
        key = str(meta.get("recordingKey") or keys.recording_key(session_id, media(str(meta["protocol"]))[0]))
        object_keys.append(key)
        if rec is None:
            return int(meta.get("fileSize", 0))
        state = rec.get("purgedFrom") if rec.get("state") == PURGED else rec.get("state")
        if state not in DONE_STATES and rec.get("uploadId"):
            self._objects.abort_upload(key, str(rec["uploadId"]))
            summary.aborted += 1
        if state not in DONE_STATES or any(i["SK"] == keys.OPEN for i in items):
            object_keys.extend(self._objects.list_keys(keys.staging_prefix(session_id)))
        return int(rec.get("bytes", 0))

    # ================================================================ plumbing
    def _start_worker(self) -> None:
        try:
            self._invoke(WORKER)
        except Exception:
            # the job is filed: retention_sweep starts the worker on its next run
            log.exception("could not start the purge worker; retention_sweep will")

    def _now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(self._clock(), UTC)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

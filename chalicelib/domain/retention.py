"""retention_sweep: recordings by age and by total size (never younger than minRetentionDays), audit records by
age, the storage total reconciled with the bucket, and a purge worker that died restarted. Bounded per run,
resumable (docs/purge-retention.md)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.purge import PurgeService
from chalicelib.model.clock import SYSTEM_CLOCK, Clock, iso
from chalicelib.model.purge import AuditCheckpoint, ReconcileCheckpoint, Retained, StoredSession
from chalicelib.model.recording import DONE_STATES
from chalicelib.model.sessions import RecordingSettings
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.counters import Counters
from chalicelib.store.generations import Generations, shown
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.retention import Expiry, RetentionRepository
from chalicelib.store.settings_store import SettingsRepository

log = logging.getLogger("session_audit.retention")

PAGE = 100
RECONCILE_PAGES = 20  # 20,000 objects a run
ORPHAN_AGE_SECONDS = 3600  # an object younger than this may belong to a completion still in flight


class RetentionService:
    def __init__(self, repo: RetentionRepository, generations: Generations, counters: Counters,
                 objects: RecordingObjects, recording_settings: SettingsRepository, purge: PurgeService,
                 settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self._repo = repo
        self._generations = generations
        self._counters = counters
        self._objects = objects
        self._recording_settings = recording_settings
        self._purge = purge
        self._settings = settings
        self._clock = clock

    def sweep(self) -> dict[str, Any]:
        deadline = self._clock.now() + self._settings.retention_budget_seconds
        report: dict[str, Any] = {"recordingsByAge": 0, "recordingsBySize": 0, "bytesFreed": 0, "overLimitBytes": 0,
                                  "auditRecords": 0, "driftRepaired": 0, "orphansDeleted": 0, "complete": True}
        report["purgeWorkerRestarted"] = self._purge.resume()
        config = self._recording_settings.recording()
        gen = self._generations.current()
        now = self._now()
        cutoff = iso(now - timedelta(days=config.retention_days))
        report["complete"] &= self._expire(gen, deadline, report, "recordingsByAge", before=cutoff)
        if config.max_total_bytes is not None:
            self._expire_by_size(gen, deadline, report, config, now)
        audit_cutoff = iso(now - timedelta(days=self._settings.audit_retention_days))
        report["complete"] &= self._expire_audit(gen, audit_cutoff, deadline, report)
        report["complete"] &= self._reconcile(gen, deadline, report)
        log.info(json.dumps({"retentionSweep": report}, sort_keys=True))
        return report

    # ---- recordings ----------------------------------------------------------------------------------------
    def _expire_by_size(self, gen: int, deadline: float, report: dict[str, Any], config: RecordingSettings,
                        now: datetime) -> None:
        """The oldest recordings until the total fits maxTotalBytes, never one younger than minRetentionDays (so
        no one's uploads can push out the others' recent evidence). What still does not fit is reported
        (`overLimitBytes`) and logged as a warning when nothing old enough is left to expire."""
        assert config.max_total_bytes is not None
        total = self._counters.totals()["bytes"]
        excess = total - config.max_total_bytes
        if excess <= 0:
            return
        floor = iso(now - timedelta(days=config.min_retention_days))
        freed_before = report["bytesFreed"]
        done = self._expire(gen, deadline, report, "recordingsBySize", before=floor, excess=excess)
        report["complete"] &= done
        report["overLimitBytes"] = max(0, excess - (report["bytesFreed"] - freed_before))
        if done and report["overLimitBytes"]:
            log.warning(json.dumps({"storageOverLimit": {
                "bytes": total - (report["bytesFreed"] - freed_before), "maxTotalBytes": config.max_total_bytes,
                "overLimitBytes": report["overLimitBytes"], "minRetentionDays": config.min_retention_days}},
                sort_keys=True))

    def _expire(self, gen: int, deadline: float, report: dict[str, Any], counter: str,
                before: str | None = None, excess: int | None = None) -> bool:
        """Oldest recordings first (the RETAIN index): those started before `before`, or until `excess` bytes
        are freed. True when the work is done, False when the budget ran out first."""
        cursor: Any = None
        freed = 0
        while True:
            if self._clock.now() >= deadline:
                return False
            entries, cursor = self._repo.retained_page(cursor, PAGE, before=before)
            while entries:
                if excess is None:
                    taken, entries = entries, []
                else:  # just enough of the oldest for what is still to free (some may be held: go on then)
                    taken, wanted = [], excess - freed
                    while entries and wanted > 0:
                        taken.append(entries.pop(0))
                        wanted -= taken[-1].bytes
                done = self._expire_entries(taken)
                size = sum(e.bytes for e in taken if e.session_id in done)
                report[counter] += len(done)
                report["bytesFreed"] += size
                freed += size
                if excess is not None and freed >= excess:
                    return True
            if cursor is None:
                return True

    def _expire_entries(self, entries: list[Retained]) -> set[str]:
        if not entries:
            return set()
        found, current = self._repo.stored([e.session_id for e in entries])
        ready = [e for e in entries if e.deleting]  # expired by a run that died
        expiries = [expiry for e in entries if not e.deleting
                    if (expiry := _expiry(found[e.session_id], current, e.session_id)) is not None]
        expired = set(self._repo.expire(expiries, current))
        ready.extend(e for e in entries if e.session_id in expired)
        # step 2: no row points at the objects any more: delete them, then the RETAIN entries
        self._objects.delete(e.key for e in ready)
        self._repo.forget_retained([e.session_id for e in ready])
        return expired | {e.session_id for e in ready}

    # ---- audit records -------------------------------------------------------------------------------------
    def _expire_audit(self, gen: int, cutoff: str, deadline: float, report: dict[str, Any]) -> bool:
        """Commands and input events of sessions, events of file sessions, started before `cutoff` (the
        records' age is their session's). Walks each list from a checkpoint, so nothing is read twice."""
        checkpoint = self._repo.audit_checkpoint()
        if checkpoint.gen != gen:
            checkpoint = AuditCheckpoint(gen, {})
        for kind in (keys.SESSION, keys.FILES):
            while True:
                if self._clock.now() >= deadline:
                    self._repo.save_audit_checkpoint(checkpoint)
                    return False
                page, more = self._repo.started_before(kind, gen, checkpoint.after.get(kind), cutoff, PAGE)
                for meta in page:
                    if meta.on_hold:
                        continue  # a held session keeps everything; released, it is walked again
                    report["auditRecords"] += self._repo.delete_audit_records(kind, meta.id)
                if page:
                    checkpoint = replace(checkpoint, after={
                        **checkpoint.after, kind: keys.list_sort_key(page[-1].started_at, page[-1].id)})
                if not more:
                    break
        self._repo.save_audit_checkpoint(checkpoint)
        return True

    # ---- reconciliation --------------------------------------------------------------------------------------
    def _reconcile(self, gen: int, deadline: float, report: dict[str, Any]) -> bool:
        """Compare every finished recording object with the row that counts it, a page of 1,000 objects at a
        time from a checkpoint: a size the total does not match is repaired (the bucket is what is stored and
        billed); an object no row refers to is deleted. One pass spans as many runs as it needs."""
        checkpoint = self._repo.reconcile_checkpoint()
        start_after = checkpoint.start_after
        for _page in range(RECONCILE_PAGES):
            if self._clock.now() >= deadline:
                break
            listed, truncated = self._objects.list_page(keys.RECORDINGS_PREFIX, start_after)
            self._check_objects(listed, report)
            if listed:
                start_after = listed[-1]["key"]
            if not truncated:
                log.info(json.dumps({"reconcilePass": {
                    "objects": checkpoint.objects + len(listed),
                    "drift": checkpoint.drift + report["driftRepaired"],
                    "storageTotal": self._counters.totals()["bytes"]}}, sort_keys=True))
                self._repo.save_reconcile_checkpoint(None)
                return True
            checkpoint = replace(checkpoint, objects=checkpoint.objects + len(listed))
        self._repo.save_reconcile_checkpoint(ReconcileCheckpoint(
            start_after, checkpoint.objects, checkpoint.drift + report["driftRepaired"]))
        return False

    def _check_objects(self, listed: list[dict[str, Any]], report: dict[str, Any]) -> None:
        if not listed:
            return
        ids = {o["key"]: keys.session_of_recording_key(o["key"]) for o in listed}
        found, current = self._repo.stored(list(dict.fromkeys(ids.values())), retain=True)
        orphans = []
        for obj in listed:
            session_id = ids[obj["key"]]
            stored = found[session_id]
            meta, rec, retain = stored.meta, stored.rec, stored.retain
            if (retain and retain.deleting) or (rec and rec.state not in DONE_STATES):
                continue  # being expired, written or purged: the work under way settles it
            if meta is not None and not shown(meta, current):
                continue  # purged or deleted: the purge worker deletes it
            if meta is not None and meta.has_recording and meta.recording_key == obj["key"]:
                self._repair(session_id, obj, stored, report)
                continue
            if self._clock.now() - obj["modified"] >= ORPHAN_AGE_SECONDS:
                orphans.append(obj)
        if orphans:
            self._objects.delete(o["key"] for o in orphans)
            report["orphansDeleted"] += len(orphans)
            log.warning(json.dumps({"orphanObjects": {"deleted": len(orphans),
                                                      "bytes": sum(o["size"] for o in orphans)}}))

    def _repair(self, session_id: str, obj: dict[str, Any], stored: StoredSession, report: dict[str, Any]) -> None:
        """The object the session points at: make what counts it say its size."""
        assert stored.meta is not None
        counted = stored.rec.bytes if stored.rec is not None else stored.meta.file_size
        # a seekable object is the client's bytes plus a new head and Cues: the total counts the stored size,
        # fileSize stays the client's (docs/seekable-webm.md)
        client_size = obj["key"] != keys.seekable_key(session_id)
        if counted != obj["size"] and self._repo.resize(session_id, counted, obj["size"], stored.rec is not None,
                                                        set_file_size=client_size,
                                                        has_retain=stored.retain is not None):
            report["driftRepaired"] += obj["size"] - counted
            log.warning(json.dumps({"storageDrift": {"key": obj["key"], "counted": counted,
                                                     "stored": obj["size"]}}))

    def _now(self) -> datetime:
        return self._clock.utc()


def _expiry(stored: StoredSession, current: int, session_id: str) -> Expiry | None:
    """What expiring the session's recording takes off, or None when it is not to be expired now."""
    meta, rec = stored.meta, stored.rec
    if meta is None or not shown(meta, current) or meta.on_hold or meta.gen != current:
        return None  # held (kept), or purged (the purge worker deletes it)
    if rec is not None and rec.state not in DONE_STATES:
        return None
    counted = rec.bytes if rec is not None else meta.file_size
    return Expiry(session_id, current, counted, rec is not None)

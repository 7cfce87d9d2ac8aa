"""retention_sweep: recordings by age and by total size, audit records by age, the storage total reconciled with
the bucket, and a purge worker that died restarted. Bounded per run, resumable (docs/purge-retention.md)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

from chalicelib.domain.purge import PurgeService
from chalicelib.domain.sessions import iso
from chalicelib.model.recording import DONE_STATES
from chalicelib.settings import Settings
from chalicelib.store import keys
from chalicelib.store.counters import Counters
from chalicelib.store.generations import Generations, generation_of, visible
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.retention import Expiry, RetentionRepository
from chalicelib.store.settings_store import SettingsRepository

log = logging.getLogger("session_audit.retention")

PAGE = 100
RECONCILE_PAGES = 20  # 20,000 objects a run
ORPHAN_AGE_SECONDS = 3600  # an object younger than this may belong to a completion still in flight
AUDIT_PREFIXES = {keys.SESSION: (keys.COMMAND_PREFIX, keys.EVENTS_PREFIX),
                  keys.FILES: (keys.FILE_EVENT_PREFIX, keys.FILE_BATCH_PREFIX)}
Item = dict[str, Any]


class RetentionService:
    def __init__(self, repo: RetentionRepository, generations: Generations, counters: Counters,
                 objects: RecordingObjects, recording_settings: SettingsRepository, purge: PurgeService,
                 settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._repo = repo
        self._generations = generations
        self._counters = counters
        self._objects = objects
        self._recording_settings = recording_settings
        self._purge = purge
        self._settings = settings
        self._clock = clock

    def sweep(self) -> dict[str, Any]:
        deadline = self._clock() + self._settings.retention_budget_seconds
        report: dict[str, Any] = {"recordingsByAge": 0, "recordingsBySize": 0, "bytesFreed": 0,
                                  "auditRecords": 0, "driftRepaired": 0, "orphansDeleted": 0, "complete": True}
        report["purgeWorkerRestarted"] = self._purge.resume()
        config = self._recording_settings.recording()
        gen = self._generations.current()
        now = self._now()
        cutoff = iso(now - timedelta(days=int(config["retentionDays"])))
        report["complete"] &= self._expire(gen, deadline, report, "recordingsByAge", before=cutoff)
        limit = config.get("maxTotalBytes")
        if limit is not None:
            excess = self._counters.totals()["bytes"] - int(limit)
            if excess > 0:
                report["complete"] &= self._expire(gen, deadline, report, "recordingsBySize", excess=excess)
        audit_cutoff = iso(now - timedelta(days=self._settings.audit_retention_days))
        report["complete"] &= self._expire_audit(gen, audit_cutoff, deadline, report)
        report["complete"] &= self._reconcile(gen, deadline, report)
        log.info(json.dumps({"retentionSweep": report}, sort_keys=True))
        return report

    # ---- recordings ----------------------------------------------------------------------------------------
    def _expire(self, gen: int, deadline: float, report: dict[str, Any], counter: str,
                before: str | None = None, excess: int | None = None) -> bool:
        """Oldest recordings first (the RETAIN index): those started before `before`, or until `excess` bytes
        are freed. True when the work is done, False when the budget ran out first."""
        cursor: Item | None = None
        freed = 0
        while True:
            if self._clock() >= deadline:
                return False
            entries, cursor = self._repo.list_page(keys.RETAIN_PK, cursor, PAGE, before=before)
            while entries:
                if excess is None:
                    taken, entries = entries, []
                else:  # just enough of the oldest for what is still to free (some may be held: go on then)
                    taken, wanted = [], excess - freed
                    while entries and wanted > 0:
                        taken.append(entries.pop(0))
                        wanted -= int(taken[-1].get("bytes", 0))
                done = self._expire_entries(taken)
                size = sum(int(e.get("bytes", 0)) for e in taken if e["id"] in done)
                report[counter] += len(done)
                report["bytesFreed"] += size
                freed += size
                if excess is not None and freed >= excess:
                    return True
            if cursor is None:
                return True

    def _expire_entries(self, entries: list[Item]) -> set[str]:
        if not entries:
            return set()
        found, current = self._generations.get_with_generation(
            [{"PK": keys.session_pk(str(e["id"])), "SK": sk} for e in entries for sk in (keys.META, keys.REC)])
        ready: list[Item] = [e for e in entries if e.get("deleting")]  # expired by a run that died
        expiries = []
        for entry in entries:
            if entry.get("deleting"):
                continue
            pk = keys.session_pk(str(entry["id"]))
            meta, rec = found.get((pk, keys.META)), found.get((pk, keys.REC))
            if not visible(meta, current) or meta is None or meta.get("onHold") or generation_of(meta) != current:
                continue  # held (kept), or purged (the purge worker deletes it)
            if rec is not None and rec.get("state") not in DONE_STATES:
                continue
            counted = int(rec["bytes"]) if rec is not None else int(meta.get("fileSize", 0))
            expiries.append(Expiry(str(entry["id"]), current, counted, rec is not None))
        expired = set(self._repo.expire(expiries, current))
        ready.extend(e for e in entries if e["id"] in expired)
        # step 2: no row points at the objects any more: delete them, then the RETAIN entries
        self._objects.delete(str(e["key"]) for e in ready)
        self._repo.delete_rows([{"PK": str(e["PK"]), "SK": keys.RETAIN} for e in ready])
        return expired | {str(e["id"]) for e in ready}

    # ---- audit records -------------------------------------------------------------------------------------
    def _expire_audit(self, gen: int, cutoff: str, deadline: float, report: dict[str, Any]) -> bool:
        """Commands and input events of sessions, events of file sessions, started before `cutoff` (the
        records' age is their session's). Walks each list from a checkpoint, so nothing is read twice."""
        state = self._repo.state(keys.RETENTION_STATE_SK)
        if int(state.get("gen", -1)) != gen:
            state = {"gen": gen}
        for kind in (keys.SESSION, keys.FILES):
            field = f"audit{kind}"
            while True:
                if self._clock() >= deadline:
                    self._repo.save_state(keys.RETENTION_STATE_SK, state)
                    return False
                start = state.get(field)
                start_key = None
                if start:
                    item_id = str(start).rsplit("#", 1)[1]
                    start_key = {"PK": f"{kind}#{item_id}", "SK": keys.META, "GSI2PK": keys.all_pk(kind, gen),
                                 "GSI2SK": start}
                page, more = self._repo.list_page(keys.all_pk(kind, gen), start_key, PAGE, before=cutoff)
                for meta in page:
                    if meta.get("onHold"):
                        continue  # a held session keeps everything; released, it is walked again
                    rows = [{"PK": str(meta["PK"]), "SK": str(i["SK"])} for prefix in AUDIT_PREFIXES[kind]
                            for i in self._repo.query_all(str(meta["PK"]), prefix)]
                    self._repo.delete_rows(rows)
                    report["auditRecords"] += len(rows)
                if page:
                    state[field] = str(page[-1]["GSI2SK"])
                if more is None:
                    break
        self._repo.save_state(keys.RETENTION_STATE_SK, state)
        return True

    # ---- reconciliation --------------------------------------------------------------------------------------
    def _reconcile(self, gen: int, deadline: float, report: dict[str, Any]) -> bool:
        """Compare every finished recording object with the row that counts it, a page of 1,000 objects at a
        time from a checkpoint: a size the total does not match is repaired (the bucket is what is stored and
        billed); an object no row refers to is deleted. One pass spans as many runs as it needs."""
        state = self._repo.state(keys.RECONCILE_STATE_SK)
        start_after = state.get("startAfter")
        for _page in range(RECONCILE_PAGES):
            if self._clock() >= deadline:
                break
            listed, truncated = self._objects.list_page(keys.RECORDINGS_PREFIX, start_after)
            self._check_objects(listed, gen, report, state)
            if listed:
                start_after = listed[-1]["key"]
            if not truncated:
                log.info(json.dumps({"reconcilePass": {
                    "objects": int(state.get("objects", 0)) + len(listed),
                    "drift": int(state.get("drift", 0)) + report["driftRepaired"],
                    "storageTotal": self._counters.totals()["bytes"]}}, sort_keys=True))
                self._repo.save_state(keys.RECONCILE_STATE_SK, {})
                return True
            state["objects"] = int(state.get("objects", 0)) + len(listed)
        self._repo.save_state(keys.RECONCILE_STATE_SK, {**state, "startAfter": start_after,
                                                        "drift": int(state.get("drift", 0)) + report["driftRepaired"]})
        return False

    def _check_objects(self, listed: list[dict[str, Any]], gen: int, report: dict[str, Any], state: Item) -> None:
        if not listed:
            return
        ids = {o["key"]: keys.session_of_recording_key(o["key"]) for o in listed}
        found, current = self._generations.get_with_generation(
            [{"PK": keys.session_pk(i), "SK": sk} for i in ids.values() for sk in (keys.META, keys.REC, keys.RETAIN)])
        orphans = []
        for obj in listed:
            pk = keys.session_pk(ids[obj["key"]])
            meta, rec, retain = (found.get((pk, sk)) for sk in (keys.META, keys.REC, keys.RETAIN))
            if (retain and retain.get("deleting")) or (rec and rec.get("state") not in DONE_STATES):
                continue  # being expired, written or purged: the work under way settles it
            if meta is not None and not visible(meta, current):
                continue  # purged or deleted: the purge worker deletes it
            if meta is not None and meta.get("hasRecording") and meta.get("recordingKey") == obj["key"]:
                counted = int(rec["bytes"]) if rec is not None else int(meta.get("fileSize", 0))
                # a seekable object is the client's bytes plus a new head and Cues: the total counts the stored
                # size, fileSize stays the client's (docs/seekable-webm.md)
                client_size = obj["key"] != keys.seekable_key(ids[obj["key"]])
                if counted != obj["size"] and self._repo.resize(ids[obj["key"]], counted, obj["size"],
                                                                rec is not None, set_file_size=client_size,
                                                                has_retain=retain is not None):
                    report["driftRepaired"] += obj["size"] - counted
                    log.warning(json.dumps({"storageDrift": {"key": obj["key"], "counted": counted,
                                                             "stored": obj["size"]}}))
                continue
            if self._clock() - obj["modified"] >= ORPHAN_AGE_SECONDS:
                orphans.append(obj)
        if orphans:
            self._objects.delete(o["key"] for o in orphans)
            report["orphansDeleted"] += len(orphans)
            log.warning(json.dumps({"orphanObjects": {"deleted": len(orphans),
                                                      "bytes": sum(o["size"] for o in orphans)}}))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

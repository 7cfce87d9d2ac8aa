"""Wiring: the services the views use, built on first use from the settings, replaceable by tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import aws
from chalicelib.domain import recordings
from chalicelib.domain.access_log import AccessLog
from chalicelib.domain.audit import AuditService, FileSessionService
from chalicelib.domain.health import HealthService
from chalicelib.domain.purge import PurgeService
from chalicelib.domain.recordings import RecordingService
from chalicelib.domain.retention import RetentionService
from chalicelib.domain.sessions import SessionService, iso
from chalicelib.domain.settings import SettingsService
from chalicelib.model.sessions import FileSession, Session
from chalicelib.settings import Settings, get_settings
from chalicelib.store import keys
from chalicelib.store.access_log import AccessLogRepository
from chalicelib.store.audit import AuditRepository, FileEventRepository
from chalicelib.store.counters import Counters
from chalicelib.store.exports import ExportStore
from chalicelib.store.generations import Generations
from chalicelib.store.health import HealthProbes
from chalicelib.store.invoker import LambdaInvoker, ThreadInvoker, no_invoker
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.purge import PurgeRepository
from chalicelib.store.recordings import CompactionRepository, RecordingRepository
from chalicelib.store.retention import RetentionRepository
from chalicelib.store.sessions import SessionRepository
from chalicelib.store.settings_store import SettingsRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass
class Services:
    settings: Settings
    table: Table
    s3: Any
    counters: Counters
    sessions: SessionService
    file_sessions: SessionRepository[FileSession]
    recording_settings: SettingsService
    audit: AuditService
    file_audit: FileSessionService
    exports: ExportStore
    recordings: RecordingService
    generations: Generations
    access_log: AccessLog
    purge: PurgeService
    retention: RetentionService
    health: HealthService


def build(settings: Settings, table: Table | None = None, s3: Any = None, invoker: Callable[[str], None] | None = None,
          **recording_options: Any) -> Services:
    """`recording_options` (clock, sleep, new_id) reach the RecordingService (clock and sleep the purge too):
    tests drive their time. `invoker` starts background functions (default: by WORKER_INVOKE)."""
    table = table if table is not None else aws.table(settings.table_name)
    s3 = s3 if s3 is not None else aws.s3_client(settings.s3_addressing_style)
    settings_repo = SettingsRepository(table)
    file_sessions = SessionRepository[FileSession](table, keys.FILES)
    counters = Counters(table)
    recording_clock = recording_options.get("clock")
    session_options: dict[str, Any] = {}
    if recording_clock is not None:
        session_options["clock"] = lambda: datetime.fromtimestamp(recording_clock(), UTC)

    def recording_items(session_id: str, user_id: str, protocol: str, now: datetime, gen: int) -> list[dict[str, Any]]:
        return recordings.initial_items(session_id, user_id, protocol, now.timestamp(), settings, gen, iso(now))

    objects = RecordingObjects(s3, settings.bucket_name, settings.kms_key_id)
    access_log = AccessLog(AccessLogRepository(table), **session_options)
    timing = {name: recording_options[name] for name in ("clock", "sleep") if name in recording_options}
    purge = PurgeService(PurgeRepository(table, sleep=timing.get("sleep", time.sleep)), Generations(table), counters,
                         objects, access_log, settings, invoker or _invoker(settings), **timing)
    return Services(
        settings=settings,
        table=table,
        s3=s3,
        counters=counters,
        sessions=SessionService(SessionRepository[Session](table, keys.SESSION), settings_repo,
                                recording_items=recording_items, **session_options),
        file_sessions=file_sessions,
        recording_settings=SettingsService(settings_repo),
        audit=AuditService(SessionRepository[Session](table, keys.SESSION), AuditRepository(table),
                           finalize_grace_seconds=settings.finalize_grace_seconds, **session_options),
        file_audit=FileSessionService(file_sessions, FileEventRepository(table), settings_repo),
        exports=ExportStore(s3, settings.bucket_name, settings.presign_ttl_seconds, settings.kms_key_id),
        generations=Generations(table),
        recordings=RecordingService(RecordingRepository(table), CompactionRepository(table), objects, counters,
                                    settings, **recording_options),
        access_log=access_log,
        purge=purge,
        retention=RetentionService(RetentionRepository(table, timing.get("sleep")), Generations(table), counters,
                                   objects, settings_repo, purge, settings, **({"clock": timing["clock"]}
                                                                              if "clock" in timing else {})),
        health=HealthService(HealthProbes(table, s3, settings.bucket_name),
                             lambda key: objects.presign(key, 60, "application/octet-stream", None), settings),
    )


def _invoker(settings: Settings) -> Callable[[str], None]:
    if settings.worker_invoke == "lambda":
        return LambdaInvoker(settings.function_name_prefix)
    if settings.worker_invoke == "thread":
        return ThreadInvoker({"purge_worker": lambda: services().purge.work()})
    return no_invoker


_current: Services | None = None


def services() -> Services:
    global _current
    if _current is None:
        _current = build(get_settings())
    return _current


def use(replacement: Services | None) -> None:
    """Install services built by a test (None: rebuild from the environment on next use)."""
    global _current
    _current = replacement

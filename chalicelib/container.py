"""Wiring: the domain services the views use, built once from the settings on first use.

Each repository is built once and shared by the services that need it; every service takes the one clock
(chalicelib/model/clock.py). Tests build their own with `build(...)` (their table and bucket clients, a driven
clock) and install it with `use(...)`; nothing here exists only for them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import aws
from chalicelib.domain import recordings
from chalicelib.domain.access_log import AccessLog
from chalicelib.domain.audit import AuditService, FileSessionService
from chalicelib.domain.compaction import SOFT_SEGMENTS
from chalicelib.domain.exports import Exports
from chalicelib.domain.health import HealthService
from chalicelib.domain.lake import LakeExporter
from chalicelib.domain.purge import PurgeService
from chalicelib.domain.recordings import RecordingService
from chalicelib.domain.retention import RetentionService
from chalicelib.domain.sessions import SessionService
from chalicelib.domain.settings import CachedRecordingSettings, SettingsService
from chalicelib.model.clock import SYSTEM_CLOCK, Clock
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
from chalicelib.store.lake import LakeObjects
from chalicelib.store.objects import RecordingObjects
from chalicelib.store.outbox import Outbox
from chalicelib.store.purge import PurgeRepository
from chalicelib.store.recordings import CompactionRepository, RecordingRepository
from chalicelib.store.retention import RetentionRepository
from chalicelib.store.sessions import SessionRepository
from chalicelib.store.settings_store import SettingsRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: SessionService
    recording_settings: SettingsService
    audit: AuditService
    file_audit: FileSessionService
    exports: Exports
    recordings: RecordingService
    access_log: AccessLog
    purge: PurgeService
    retention: RetentionService
    health: HealthService
    lake_export: LakeExporter


@dataclass(frozen=True)
class _Repositories:
    """Every repository, once, over one table and one bucket."""

    settings: SettingsRepository
    sessions: SessionRepository[Session]
    file_sessions: SessionRepository[FileSession]
    counters: Counters
    generations: Generations
    objects: RecordingObjects

    @staticmethod
    def over(table: Table, s3: Any, settings: Settings) -> _Repositories:
        return _Repositories(SettingsRepository(table), SessionRepository[Session](table, keys.SESSION),
                             SessionRepository[FileSession](table, keys.FILES), Counters(table), Generations(table),
                             RecordingObjects(s3, settings.bucket_name, settings.kms_key_id))


def build(settings: Settings, table: Table | None = None, s3: Any = None, invoker: Callable[[str], None] | None = None,
          clock: Clock = SYSTEM_CLOCK, new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
          soft_segments: int = SOFT_SEGMENTS) -> Services:
    """The services over `table` and `s3` (default: the settings' own, built by chalicelib/aws.py); `invoker`
    starts background functions (default: by WORKER_INVOKE); `new_id` and `soft_segments` shape the recording
    pipeline (tests pick them)."""
    table = table if table is not None else aws.table(settings.table_name)
    s3 = s3 if s3 is not None else aws.s3_client(settings.s3_addressing_style)
    repos = _Repositories.over(table, s3, settings)

    def recording_items(session_id: str, user_id: str, protocol: str, now: datetime, gen: int, started: str,
                        ended: str | None) -> list[dict[str, Any]]:
        return recordings.initial_items(session_id, user_id, protocol, now.timestamp(), settings, gen, started, ended)

    access_log = AccessLog(AccessLogRepository(table), clock)
    cached_settings = CachedRecordingSettings(repos.settings, clock)
    purge = PurgeService(PurgeRepository(table, sleep=clock.sleep), repos.generations, repos.counters, repos.objects,
                         access_log, settings, invoker or _invoker(settings), clock)
    return Services(
        settings=settings,
        sessions=SessionService(repos.sessions, repos.settings, recording_items=recording_items, clock=clock,
                                retention_days=settings.audit_retention_days),
        recording_settings=SettingsService(repos.settings, cached_settings),
        audit=AuditService(repos.sessions, AuditRepository(table), clock,
                           finalize_grace_seconds=settings.finalize_grace_seconds),
        file_audit=FileSessionService(repos.file_sessions, FileEventRepository(table), repos.settings, clock,
                                      settings.audit_retention_days),
        exports=Exports(ExportStore(s3, settings.bucket_name, settings.presign_ttl_seconds, settings.kms_key_id)),
        recordings=RecordingService(RecordingRepository(table), CompactionRepository(table), repos.objects,
                                    repos.counters, settings, clock, new_id, soft_segments,
                                    daily_cap=lambda: cached_settings.current().max_user_bytes_per_day,
                                    access_log=access_log),
        access_log=access_log,
        purge=purge,
        retention=RetentionService(RetentionRepository(table, clock.sleep), repos.generations, repos.counters,
                                   repos.objects, repos.settings, purge, settings, clock),
        health=HealthService(HealthProbes(table, s3, settings.bucket_name),
                             lambda key: repos.objects.presign(key, 60, "application/octet-stream", None), settings),
        lake_export=LakeExporter(Outbox(table), LakeObjects(repos.objects), clock, settings.lake_export_budget_seconds),
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

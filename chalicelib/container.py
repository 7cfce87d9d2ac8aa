"""Wiring: the services the views use, built on first use from the settings, replaceable by tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import aws
from chalicelib.domain.audit import AuditService, FileSessionService
from chalicelib.domain.sessions import SessionService
from chalicelib.domain.settings import SettingsService
from chalicelib.settings import Settings, get_settings
from chalicelib.store import keys
from chalicelib.store.audit import AuditRepository, FileEventRepository
from chalicelib.store.counters import Counters
from chalicelib.store.exports import ExportStore
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
    file_sessions: SessionRepository
    recording_settings: SettingsService
    audit: AuditService
    file_audit: FileSessionService
    exports: ExportStore


def build(settings: Settings, table: Table | None = None, s3: Any = None) -> Services:
    table = table if table is not None else aws.table(settings.table_name)
    s3 = s3 if s3 is not None else aws.s3_client(settings.s3_addressing_style)
    settings_repo = SettingsRepository(table)
    file_sessions = SessionRepository(table, keys.FILES)
    return Services(
        settings=settings,
        table=table,
        s3=s3,
        counters=Counters(table),
        sessions=SessionService(SessionRepository(table, keys.SESSION), settings_repo),
        file_sessions=file_sessions,
        recording_settings=SettingsService(settings_repo),
        audit=AuditService(SessionRepository(table, keys.SESSION), AuditRepository(table)),
        file_audit=FileSessionService(file_sessions, FileEventRepository(table), settings_repo),
        exports=ExportStore(s3, settings.bucket_name, settings.presign_ttl_seconds, settings.kms_key_id),
    )


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

"""Configuration, read and validated once from the environment (see README, Configuration)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, Mapping

ALL_PERMISSIONS = frozenset(
    {
        "sessions.view_own",
        "sessions.view_any",
        "sessions.delete",
        "sessions.ingest",
        "settings.manage",
    }
)

DEFAULT_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": ALL_PERMISSIONS,
    "user": frozenset({"sessions.view_own"}),
}


# SigV4 presigned URLs live at most 7 days: S3 refuses every URL signed for longer, so such a setting would break
# every playback and large export while the service looked healthy.
PRESIGN_TTL_LIMIT_SECONDS = 7 * 24 * 3600

# How answers write times (README, Configuration): the contract's ISO 8601, or the gateway's own server's form
# (`YYYY-MM-DD HH:MM:SS`, UTC), which its history page parses with `new Date(t.replace(' ', 'T') + 'Z')`.
TIMESTAMP_FORMATS = ("iso", "gateway")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable service."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    jwt_secret: str
    role_permissions: Mapping[str, frozenset[str]] = field(default_factory=lambda: DEFAULT_ROLE_PERMISSIONS)
    playback_origins: tuple[str, ...] = ()
    # token checks (README, Authentication): clock skew allowed on exp, nbf and iat; aud and iss when configured
    jwt_leeway_seconds: int = 60
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    # the browser tests' page (viewer/browser-check.*) is served only where this is set: the local stack sets it
    serve_test_pages: bool = False
    kms_key_id: str | None = None
    presign_ttl_seconds: int = 3600
    finalize_grace_seconds: float = 3.0
    idle_timeout_video_seconds: int = 600
    idle_timeout_terminal_seconds: int = 86400
    audit_retention_days: int = 365
    s3_addressing_style: str = "auto"
    # Answers bigger than this go to S3 and the client is redirected there: a Lambda response carries at most
    # 6 MB, measured after the body is JSON-escaped into the proxy envelope (see docs/audit-records.md).
    max_response_bytes: int = 5_000_000
    # S3's floor for every multipart part but the last; smaller only where the emulator is told so (tests)
    recording_part_bytes: int = 5 * 1024 * 1024
    sweep_budget_seconds: float = 90.0
    # purge, deletes and retention (docs/purge-retention.md)
    function_name_prefix: str = ""
    worker_invoke: str = "none"  # lambda: async Lambda invoke; thread: in this process (make run); none: left to
    # retention_sweep or an explicit run (tests)
    purge_settle_seconds: float = 180.0
    worker_budget_seconds: float = 600.0
    retention_budget_seconds: float = 240.0
    lake_export_budget_seconds: float = 40.0  # work per lake_export run (every minute; timeout 120 s)
    log_level: int = logging.INFO
    timestamp_format: str = "iso"  # one of TIMESTAMP_FORMATS


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _role_permissions(raw: str | None) -> Mapping[str, frozenset[str]]:
    if not raw:
        return DEFAULT_ROLE_PERMISSIONS
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ConfigError("ROLE_PERMISSIONS must be a JSON object") from exc
    if not isinstance(parsed, dict) or not all(
        isinstance(perms, list) and all(isinstance(p, str) for p in perms) for perms in parsed.values()
    ):
        raise ConfigError("ROLE_PERMISSIONS must map each role to a list of permission strings")
    return {role: frozenset(perms) for role, perms in parsed.items()}


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"{name} must be set")
    return value


def _check_endpoint(endpoint: str | None) -> None:
    """A configured S3 endpoint (an emulator's) must be an http(s) URL: boto3 would fail only at the first call."""
    if not endpoint:
        return
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("AWS_ENDPOINT_URL(_S3) must be an http(s) URL")


# The numeric settings: field -> (variable, least value, greatest value or None). Their defaults are the
# dataclass's own (written once, above); whole numbers where the default is an int.
_NUMBERS: dict[str, tuple[str, int, int | None]] = {
    "jwt_leeway_seconds": ("JWT_LEEWAY_SECONDS", 0, None),
    "presign_ttl_seconds": ("PRESIGN_TTL_SECONDS", 60, PRESIGN_TTL_LIMIT_SECONDS),
    "finalize_grace_seconds": ("FINALIZE_GRACE_SECONDS", 0, None),
    "idle_timeout_video_seconds": ("IDLE_TIMEOUT_VIDEO_SECONDS", 1, None),
    "idle_timeout_terminal_seconds": ("IDLE_TIMEOUT_TERMINAL_SECONDS", 1, None),
    "audit_retention_days": ("AUDIT_RETENTION_DAYS", 1, None),
    "max_response_bytes": ("MAX_RESPONSE_BYTES", 1, None),
    "recording_part_bytes": ("RECORDING_PART_BYTES", 1024, None),
    "sweep_budget_seconds": ("SWEEP_BUDGET_SECONDS", 0, None),
    "purge_settle_seconds": ("PURGE_SETTLE_SECONDS", 0, None),
    "worker_budget_seconds": ("WORKER_BUDGET_SECONDS", 0, None),
    "retention_budget_seconds": ("RETENTION_BUDGET_SECONDS", 0, None),
    "lake_export_budget_seconds": ("LAKE_EXPORT_BUDGET_SECONDS", 0, None),
}


def _default(name: str) -> Any:
    return next(f.default for f in fields(Settings) if f.name == name)


def _numbers(env: Mapping[str, str]) -> dict[str, int | float]:
    found: dict[str, int | float] = {}
    for name, (variable, minimum, maximum) in _NUMBERS.items():
        default = _default(name)
        if isinstance(default, int):
            found[name] = _int(env, variable, default, minimum, maximum)
        else:
            found[name] = _float(env, variable, default)
    return found


def load_settings(env: Mapping[str, str]) -> Settings:
    _check_endpoint(env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"))
    origins = tuple(o.strip().rstrip("/") for o in env.get("PLAYBACK_ORIGINS", "").split(",") if o.strip())
    return Settings(
        table_name=_required(env, "TABLE_NAME"),
        bucket_name=_required(env, "BUCKET_NAME"),
        jwt_secret=_required(env, "JWT_SECRET"),
        role_permissions=_role_permissions(env.get("ROLE_PERMISSIONS")),
        playback_origins=origins,
        jwt_audience=env.get("JWT_AUDIENCE") or None,
        jwt_issuer=env.get("JWT_ISSUER") or None,
        serve_test_pages=env.get("SERVE_TEST_PAGES", "") == "1",
        kms_key_id=env.get("KMS_KEY_ID") or None,
        s3_addressing_style=env.get("S3_ADDRESSING_STYLE") or _default("s3_addressing_style"),
        function_name_prefix=env.get("FUNCTION_NAME_PREFIX", _default("function_name_prefix")),
        worker_invoke=_worker_invoke(env),
        log_level=log_level(env),
        timestamp_format=_timestamp_format(env),
        **_numbers(env),  # type: ignore[arg-type]  # each is the type of its field's default
    )


# Python's names and Lambda's (ApplicationLogLevel: TRACE, DEBUG, INFO, WARN, ERROR, FATAL), any case
LOG_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL,
              "CRITICAL": logging.CRITICAL}


def log_level(env: Mapping[str, str]) -> int:
    """LOG_LEVEL (default INFO); read apart from the rest too, since app.py sets it up at import."""
    raw = env.get("LOG_LEVEL")
    if not raw:
        return int(_default("log_level"))
    try:
        return LOG_LEVELS[raw.strip().upper()]
    except KeyError:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}") from None


def _timestamp_format(env: Mapping[str, str]) -> str:
    raw = env.get("TIMESTAMP_FORMAT") or _default("timestamp_format")
    if raw not in TIMESTAMP_FORMATS:
        raise ConfigError(f"TIMESTAMP_FORMAT must be iso or gateway, got {raw!r}")
    return raw


def _worker_invoke(env: Mapping[str, str]) -> str:
    """How the purge worker is started: WORKER_INVOKE, else by Lambda invoke when running on Lambda."""
    raw = env.get("WORKER_INVOKE") or ("lambda" if env.get("AWS_LAMBDA_FUNCTION_NAME") else _default("worker_invoke"))
    if raw not in ("lambda", "thread", "none"):
        raise ConfigError("WORKER_INVOKE must be lambda, thread or none")
    return raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; tests that change the environment call `get_settings.cache_clear()`."""
    return load_settings(os.environ)

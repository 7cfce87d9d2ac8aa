"""Settings that stop the service at start (PRESIGN_TTL_SECONDS, LOG_LEVEL) and the service's JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest

from chalicelib import logs
from chalicelib.settings import ConfigError, Settings, load_settings
from tests.support.clients import ROOT

REQUIRED = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "JWT_SECRET": "s" * 32}


# ---- PRESIGN_TTL_SECONDS -------------------------------------------------------------------------------------

def test_a_presigned_url_may_live_up_to_sigv4s_seven_days():
    assert load_settings({**REQUIRED, "PRESIGN_TTL_SECONDS": "604800"}).presign_ttl_seconds == 604_800


@pytest.mark.parametrize("ttl", ["604801", "2592000"])
def test_a_presigned_url_life_over_seven_days_is_refused_with_a_clear_error(ttl):
    with pytest.raises(ConfigError, match=r"^PRESIGN_TTL_SECONDS must be at most 604800$"):
        load_settings({**REQUIRED, "PRESIGN_TTL_SECONDS": ttl})


# ---- LOG_LEVEL -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "level"), [
    (None, logging.INFO), ("", logging.INFO), ("debug", logging.DEBUG), ("WARN", logging.WARNING),
    ("WARNING", logging.WARNING), ("Error", logging.ERROR), ("FATAL", logging.CRITICAL), ("TRACE", logging.DEBUG),
])
def test_log_level_takes_pythons_and_lambdas_names(raw, level):
    env = dict(REQUIRED) if raw is None else {**REQUIRED, "LOG_LEVEL": raw}
    assert load_settings(env).log_level == level


@pytest.mark.parametrize("raw", ["verbose", "10", "INF"])
def test_a_bad_log_level_is_refused_with_a_clear_error(raw):
    with pytest.raises(ConfigError, match=rf"^LOG_LEVEL must be one of TRACE, DEBUG, .*, got '{raw}'$"):
        load_settings({**REQUIRED, "LOG_LEVEL": raw})


def _import_app(**env: str) -> subprocess.CompletedProcess[str]:
    probe = ("import logging, app; log = logging.getLogger('session_audit.retention');"
             "log.debug('hidden'); log.info('retention: %d recordings over the limit', 3); log.warning('warned')")
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **env})


def test_importing_the_app_logs_info_summaries_as_json_lines_by_default():
    """Before, nothing set a level: Python's WARNING dropped every INFO summary (retention, purge, access log)."""
    done = _import_app()
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("INFO", "retention: 3 recordings over the limit"), ("WARN", "warned")]
    assert all(line["logger"] == "session_audit.retention" and line["requestId"] is None for line in lines)
    assert done.stderr == ""  # once, not a second time through the root logger's handler


def test_importing_the_app_honours_log_level():
    done = _import_app(LOG_LEVEL="WARN")
    assert [json.loads(line)["message"] for line in done.stdout.splitlines()] == ["warned"]
    assert [json.loads(line)["level"] for line in _import_app(LOG_LEVEL="debug").stdout.splitlines()] == [
        "DEBUG", "INFO", "WARN"]


def test_a_bad_log_level_stops_the_app_at_import():
    done = _import_app(LOG_LEVEL="loud")
    assert done.returncode != 0
    assert "ConfigError: LOG_LEVEL must be one of" in done.stderr and "got 'loud'" in done.stderr


# ---- the JSON line --------------------------------------------------------------------------------------------

def _record(message: str, *args: object, level: int = logging.INFO, exc_info: object = None) -> logging.LogRecord:
    record = logging.LogRecord("session_audit.purge", level, __file__, 1, message, args, exc_info)  # type: ignore[arg-type]
    record.created = 1_764_763_200.25  # 2025-12-03T12:00:00.250Z
    return record


def test_a_line_is_one_json_object_with_lambdas_keys():
    line = logs.JsonLines().format(_record("purge %s: %d sessions", "gen-3", 12))
    assert "\n" not in line
    assert json.loads(line) == {"timestamp": "2025-12-03T12:00:00.250Z", "level": "INFO",
                                "message": "purge gen-3: 12 sessions", "logger": "session_audit.purge",
                                "requestId": None}


def test_levels_are_spelled_as_lambda_reads_them():
    spelled = [json.loads(logs.JsonLines().format(_record("x", level=level)))["level"]
               for level in (logging.DEBUG, logging.WARNING, logging.ERROR, logging.CRITICAL)]
    assert spelled == ["DEBUG", "WARN", "ERROR", "FATAL"]


def test_a_message_with_newlines_and_non_ascii_stays_one_line_and_an_exception_is_kept():
    try:
        raise ValueError("boom")
    except ValueError:
        line = logs.JsonLines().format(_record("two\nlines é", level=logging.ERROR, exc_info=sys.exc_info()))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "two\nlines é"
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]


@pytest.mark.parametrize("event", [
    SimpleNamespace(lambda_context=SimpleNamespace(aws_request_id="req-http")),  # an HTTP request
    SimpleNamespace(context=SimpleNamespace(aws_request_id="req-http")),  # a scheduled event, a direct invoke
], ids=["http", "event"])
def test_lines_logged_during_an_invocation_carry_its_request_id_and_only_then(event):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    logger = logging.getLogger("session_audit.test-request-id")
    logger.addHandler(handler)
    try:
        answered = logs.with_request_id(event, lambda e: logger.warning("during") or "answer")
        logger.warning("after")
    finally:
        logger.removeHandler(handler)
    assert answered == "answer"
    assert [json.loads(line)["requestId"] for line in stream.getvalue().splitlines()] == ["req-http", None]


def test_an_invocation_without_a_context_logs_a_null_request_id():
    assert logs.with_request_id(SimpleNamespace(context=None), lambda e: logs.request_id.get()) is None


def test_configure_twice_keeps_one_handler():
    logger = logs.configure(logging.INFO)
    logs.configure(logging.INFO)
    assert sum(isinstance(h, logs.StdoutLines) for h in logger.handlers) == 1
    assert logger.propagate is False


# ---- git ignores the test tools' caches --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [".hypothesis/examples/x", ".schemathesis/x"])
def test_test_tools_caches_are_ignored_by_git(path):
    assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0


def test_a_request_through_the_app_logs_with_its_lambda_request_id():
    """Through Chalice's own dispatch (its test client gives each call a Lambda context): without TABLE_NAME
    the request fails with a logged configuration error, which must name the invocation."""
    probe = ("import app\nfrom chalice.test import Client\n"
             "with Client(app.app) as client:\n"
             "    client.http.get('/sessions', headers={'Authorization': 'Bearer x'})\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    [entry] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (entry["level"], entry["message"]) == ("ERROR", "configuration error: TABLE_NAME must be set")
    assert isinstance(entry["requestId"], str) and len(entry["requestId"]) == 36, entry


def test_an_unset_variable_takes_the_dataclass_default():
    """Defaults are written once, in Settings: the loader given only the required variables builds exactly the
    dataclass's defaults, so a default changed in one place cannot disagree with the other."""
    assert load_settings(REQUIRED) == Settings(table_name="t", bucket_name="b", jwt_secret="s" * 32)
    empty = {"PRESIGN_TTL_SECONDS": "", "LOG_LEVEL": "", "WORKER_INVOKE": ""}
    assert load_settings({**REQUIRED, **empty}) == load_settings(REQUIRED)


def test_the_numeric_settings_keep_their_types_and_bounds():
    loaded = load_settings({**REQUIRED, "PRESIGN_TTL_SECONDS": "120", "FINALIZE_GRACE_SECONDS": "0.5"})
    assert (loaded.presign_ttl_seconds, loaded.finalize_grace_seconds) == (120, 0.5)
    assert isinstance(loaded.presign_ttl_seconds, int)
    assert isinstance(load_settings(REQUIRED).sweep_budget_seconds, float)
    for variable, value, message in (("PRESIGN_TTL_SECONDS", "59", "at least 60"),
                                     ("IDLE_TIMEOUT_VIDEO_SECONDS", "0", "at least 1"),
                                     ("AUDIT_RETENTION_DAYS", "1.5", "must be an integer"),
                                     ("SWEEP_BUDGET_SECONDS", "-1", "must not be negative")):
        with pytest.raises(ConfigError, match=message):
            load_settings({**REQUIRED, variable: value})

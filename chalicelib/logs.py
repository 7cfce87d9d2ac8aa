"""The service's log lines: one JSON object a line, at LOG_LEVEL, with the Lambda request id.

Nothing set a level before, so Python's default (WARNING) dropped every INFO summary on Lambda (retention, purge,
the access-log line). The `session_audit` logger gets its own handler and does not propagate: on Lambda the
runtime's root handler would write each line a second time in its own format, and under `chalice local` the
root handler chalice configures would too.

The keys are those of Lambda's own JSON log format (`timestamp`, `level`, `message`, `logger`, `requestId`) and
its level names (WARN, FATAL), so with the template's `LogFormat: JSON` Lambda reads the level of each line
(and filters on it) as it does for its own lines.

The request id comes from a context variable set around each invocation by `with_request_id`, a middleware for
every event type. Chalice's `app.lambda_context` is not enough: it is set for HTTP routes only (not for the
scheduled functions or the purge worker) and stays set after the request, shared by the local server's threads.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any, Callable

LOGGER = "session_audit"
# Python's level names as Lambda spells them (the rest are the same)
LAMBDA_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL"}

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _rfc3339(record.created),
            "level": LAMBDA_LEVELS.get(record.levelname, record.levelname),
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _rfc3339(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class StdoutLines(logging.Handler):
    """Writes to whatever sys.stdout is when the line is logged (a test runner swaps it per test)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # logging must never break a request
            self.handleError(record)


def configure(level: int) -> logging.Logger:
    """Idempotent: importing the app twice (tests, the local stack's schedules) keeps one handler."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    logger.propagate = False
    if not any(isinstance(h, StdoutLines) for h in logger.handlers):
        handler = StdoutLines()
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
    return logger


def with_request_id(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: the invocation's request id for every line logged while it runs.

    An HTTP request carries its Lambda context as `lambda_context`; a scheduled event or a direct invoke as
    `context`. Local runs without one log `null`."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    token = request_id.set(getattr(context, "aws_request_id", None))
    try:
        return get_response(event)
    finally:
        request_id.reset(token)

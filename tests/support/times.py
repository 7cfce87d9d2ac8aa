"""Times in answers, as the gateway's own history page reads them (TIMESTAMP_FORMAT, README Configuration)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

GATEWAY_FORM = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
ISO_LIKE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")  # anywhere in a string: a time not in the gateway's form
TIME_FIELDS = frozenset({"startedAt", "endedAt", "timestamp", "at", "expiresAt"})
CSV_TIME_COLUMNS = ("session_started", "session_ended", "timestamp")
# ECMAScript's date time string format, the one every engine must read (Date.parse); tests/browser checks that
# Chromium reads the samples below as this does
_ES_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)")
PARSE_SAMPLES = ("2024-01-08 10:42:01", "2024-01-08T10:42:01.123Z", "2024-01-08T10:42:01Z", "0999-12-31 23:59:59")


def gateway_parse(text: str) -> datetime | None:
    """What the gateway's history page makes of a time: `new Date(t.replace(' ', 'T') + 'Z')` (JavaScript's
    replace with a string changes the first match only). None where JavaScript makes an Invalid Date, as for an
    ISO time that already ends in Z."""
    candidate = text.replace(" ", "T", 1) + "Z"
    if not _ES_DATE_TIME.fullmatch(candidate):
        return None
    return datetime.fromisoformat(candidate).astimezone(UTC)


def to_the_second(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC).replace(microsecond=0)


def time_fields(body: Any, path: str = "") -> Iterator[tuple[str, str | None]]:
    """(where, value) of every time field in an answer, at any depth (a file event's free-form `detail` aside)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "detail":
                continue
            if key in TIME_FIELDS and (value is None or isinstance(value, str)):
                yield f"{path}.{key}", value
            else:
                yield from time_fields(value, f"{path}.{key}")
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from time_fields(value, f"{path}[{index}]")


def strings(body: Any) -> Iterator[str]:
    """Every string in an answer, keys included."""
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        for key, value in body.items():
            yield key
            yield from strings(value)
    elif isinstance(body, list):
        for value in body:
            yield from strings(value)

"""A file session's export: JSON (the session and its events) or CSV, one row per event.

The CSV is written by the csv module with every cell quoted, and is safe to open in a spreadsheet: a cell that
starts with = + - @, a tab or a carriage return would be read as a formula there, so it is prefixed with an
apostrophe (OWASP's advice on CSV injection); and a spreadsheet that splits on another separator (`;` in much of
Europe) would find `x;=1+1` an unquoted cell `=1+1` unless every cell is quoted.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from chalicelib.api import shapes
from chalicelib.model.audit import FileEventRecord
from chalicelib.model.sessions import FileSession

CSV_COLUMNS = ("session_id", "connection", "username", "protocol", "session_started", "session_ended",
               "timestamp", "action", "path", "detail")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("json", "csv")


def neutralised(cell: Any) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def detail_text(detail: Any) -> str:
    if detail is None:
        return ""
    if isinstance(detail, str):
        return detail
    return json.dumps(detail, ensure_ascii=False, separators=(",", ":"))


def csv_text(session: FileSession, events: Iterable[FileEventRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)  # the excel dialect: \r\n row ends (RFC 4180)
    writer.writerow(CSV_COLUMNS)
    fixed = (session.id, session.connection_name, session.username, session.protocol,
             shapes.answer_time(session.started_at), shapes.answer_time(session.ended_at))
    for event in events:
        row = (*fixed, shapes.answer_time(event.timestamp), event.action, event.path, detail_text(event.detail))
        writer.writerow([neutralised(cell) for cell in row])
    return out.getvalue()


def json_body(session: FileSession, events: Iterable[FileEventRecord]) -> dict[str, Any]:
    return {"session": shapes.file_session(session), "events": [shapes.file_event(e) for e in events]}


def filename(session_id: str, export_format: str) -> str:
    # ids are [A-Za-z0-9._-] (params.valid_id): safe inside a quoted Content-Disposition filename
    return f"file-session-{session_id}.{export_format}"

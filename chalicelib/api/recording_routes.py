"""Views of the recording pipeline: chunk, finalize, playback, storage total."""

from __future__ import annotations

import re

from chalice.app import Request, Response

from chalicelib.api import params, shapes
from chalicelib.api.http import caller, client_ip, json_response, query
from chalicelib.container import services
from chalicelib.domain import access_log
from chalicelib.domain.recordings import MAX_CHUNK_BYTES, MAX_INDEX
from chalicelib.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

CHUNK_TYPES = ("application/octet-stream", "video/webm", "application/x-asciicast")
_INDEX = re.compile(r"[0-9]{1,9}")  # ASCII digits only (\d would take U+FF11 as 1)


def _index(request: Request) -> int | None:
    raw = request.headers.get("x-chunk-index")
    if raw is None:
        return None
    raw = raw.strip()
    if not _INDEX.fullmatch(raw) or int(raw) > MAX_INDEX:
        raise BadRequest(f"X-Chunk-Index must be an integer from 0 to {MAX_INDEX}")
    return int(raw)


def chunk(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in CHUNK_TYPES:
        raise UnsupportedMediaType(f"Content-Type must be one of: {', '.join(CHUNK_TYPES)}")
    body = request.raw_body or b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > MAX_CHUNK_BYTES:
        raise PayloadTooLarge(f"a chunk may hold at most {MAX_CHUNK_BYTES} bytes (4 MiB); send smaller chunks")
    services().recordings.append(caller(request), session_id, body, _index(request), client_ip(request))
    return json_response({"ok": True})


def finalize(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    state = services().recordings.finalize(caller(request), session_id)
    return json_response({"ok": True, "recordingState": state})


def playback(request: Request, session_id: str) -> Response:
    session_id = params.valid_id(session_id, "session id")
    options = query(request)
    download = params.query_flag(options, "download", default=False)
    redirect = params.query_flag(options, "redirect", default=True)
    svc = services()
    who = caller(request)
    found = svc.recordings.playback(who, session_id, download)
    # recorded before the URL is handed out: no playback goes unlogged (one PutItem)
    svc.access_log.record(who, access_log.DOWNLOAD if download else access_log.PLAY,
                          access_log.session_target(session_id), client_ip(request))
    if not redirect:
        return json_response({"url": found.url, "expiresAt": shapes.answer_time(found.expires_at)},
                             headers={"Cache-Control": "no-store"})
    return Response(body="", status_code=302, headers={"Location": found.url, "Cache-Control": "no-store"})


def storage(request: Request) -> Response:
    """The storage total, and whether it is over maxTotalBytes (which size retention could not bring it under
    when what is over is younger than minRetentionDays or held; docs/purge-retention.md)."""
    svc = services()
    who = caller(request)
    stored = svc.recordings.storage_bytes(who)
    limit = svc.recording_settings.recording(who).max_total_bytes
    return json_response({"bytes": stored, "maxTotalBytes": limit, "overLimit": limit is not None and stored > limit})


def sweep() -> dict[str, int]:
    return services().recordings.sweep()

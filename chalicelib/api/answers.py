"""Answers of any size: inline when a Lambda response can carry them, else parked in S3 and redirected to.

A Lambda (proxy) response is at most 6 MB *after* the body is JSON-escaped into the proxy envelope, where every
quote costs two bytes and, in the worst case, a non-ASCII character six; the measure below is that escaped size.

`json_records` builds a list answer as its records are read: while it fits it is kept (at most
MAX_RESPONSE_BYTES of text); past that it goes to S3 a part at a time (a multipart upload), so a session's whole
record is never in memory at once, neither as records nor as text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from chalice.app import Response

from chalicelib.container import services

log = logging.getLogger("session_audit.answers")
T = TypeVar("T")

JSON = "application/json"
CSV = "text/csv; charset=utf-8"


def envelope_bytes(text: str) -> int:
    """The size `text` takes inside the Lambda proxy response (json.dumps escapes as the runtime does)."""
    return len(json.dumps(text))


def compact_json(body: Any) -> str:
    # allow_nan=False: no NaN can be stored (batches refuse it), and an answer must be JSON a browser parses
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def answer(text: str, content_type: str, filename: str, download: bool = False) -> Response:
    """200 with `text`, or 302 to a presigned S3 URL of the same bytes when it is too large to answer inline.

    `download` adds `Content-Disposition: attachment` (exports); `filename` also names the S3 object.
    """
    svc = services()
    headers: dict[str, str | list[str]] = {"Content-Type": content_type}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if envelope_bytes(text) <= svc.settings.max_response_bytes:
        return Response(body=text, status_code=200, headers=headers)
    url = svc.exports.publish(text.encode(), content_type, filename, attachment=download)
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})


def json_answer(body: Any, filename: str, download: bool = False) -> Response:
    return answer(compact_json(body), JSON, filename, download)


def json_records(field: str, records: Iterable[T], shape: Callable[[T], Any], filename: str) -> Response:
    """`{"<field>": [<shape(record)>, ...]}` (compact, as `json_answer` writes it), built as `records` are read:
    200 inline while it fits, else 302 to the same JSON written to S3 part after part."""
    svc = services()
    body = _SpillingBody(svc.settings.max_response_bytes,
                         lambda: svc.exports.upload(JSON, filename, attachment=False))
    try:
        body.write('{"' + field + '":[')
        for index, record in enumerate(records):
            body.write(("," if index else "") + compact_json(shape(record)))
        body.write("]}")
        return body.answer()
    except BaseException:
        body.abort()
        raise


class Upload(Protocol):
    """An answer being written to S3 part after part (chalicelib/store/exports.py: ExportUpload)."""

    @property
    def min_part(self) -> int: ...

    def part(self, body: bytes) -> None: ...

    def complete(self) -> str: ...

    def abort(self) -> None: ...


class _SpillingBody:
    """Text kept while its escaped size fits `limit`; past it, bytes sent to an S3 upload part after part."""

    def __init__(self, limit: int, open_upload: Callable[[], Upload]) -> None:
        self._limit = limit
        self._open_upload = open_upload
        self._pieces: list[str] = []
        self._escaped = 2  # the quotes of the envelope's string
        self._upload: Upload | None = None
        self._buffer = bytearray()

    def write(self, piece: str) -> None:
        if self._upload is not None:
            self._buffer += piece.encode()
            if len(self._buffer) >= self._upload.min_part:
                self._send()
            return
        self._pieces.append(piece)
        self._escaped += envelope_bytes(piece) - 2
        if self._escaped > self._limit:
            self._upload = self._open_upload()
            self._buffer += "".join(self._pieces).encode()
            self._pieces = []

    def _send(self) -> None:
        assert self._upload is not None
        self._upload.part(bytes(self._buffer))
        self._buffer = bytearray()

    def answer(self) -> Response:
        if self._upload is None:
            return Response(body="".join(self._pieces), status_code=200, headers={"Content-Type": JSON})
        self._send()  # the last part may be smaller than S3's floor
        url = self._upload.complete()
        return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})

    def abort(self) -> None:
        if self._upload is None:
            return
        try:
            self._upload.abort()
        except Exception:
            # the lifecycle rule's abort of incomplete uploads under exports/ is the backstop
            log.exception("could not abort an answer's upload")

"""Answers of any size: inline when a Lambda response can carry them, else parked in S3 and redirected to.

A Lambda (proxy) response is at most 6 MB *after* the body is JSON-escaped into the proxy envelope, where every
quote costs two bytes and, in the worst case, a non-ASCII character six; the measure below is that escaped size.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Response

from chalicelib.container import services

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

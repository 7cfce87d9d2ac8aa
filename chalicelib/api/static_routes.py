"""Files served without a token: the API document (and, later, the viewer)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chalice.app import Response

STATIC = Path(__file__).resolve().parent.parent / "static"


@lru_cache(maxsize=1)
def _openapi() -> bytes:
    return (STATIC / "openapi.yaml").read_bytes()


def openapi() -> Response:
    return Response(body=_openapi().decode(), status_code=200,
                    headers={"Content-Type": "application/yaml; charset=utf-8", "Cache-Control": "max-age=300"})

"""Files served without a token: the API document, the viewer's pages and the player files they load."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from chalice.app import Response

from chalicelib.container import services
from chalicelib.errors import BadRequest, NotFound

STATIC = Path(__file__).resolve().parent.parent / "static"
VIEWER = STATIC / "viewer"
VENDOR = VIEWER / "vendor"

# Only these suffixes are served, each with its one Content-Type (never guessed from the file).
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# One path segment: no separator, no leading dot (so no "..", no hidden files), a served suffix.
PAGE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}(?:\.[a-z0-9_-]{1,20})?\.(?:html|js|css)")
# The player's dist files, copied from node_modules by `make viewer-vendor` (see viewer/package.json).
VENDOR_FILES = frozenset({"asciinema-player.min.js", "asciinema-player.css"})
# The browser tests' page (docs/browser-tests.md): a recorder and player harness, served only where
# SERVE_TEST_PAGES=1 (the local stack), never by a deployment.
TEST_PAGES = frozenset({"browser-check.html", "browser-check.js"})


def openapi() -> Response:
    return Response(body=_read(STATIC / "openapi.yaml").decode(), status_code=200,
                    headers={"Content-Type": "application/yaml; charset=utf-8", "Cache-Control": "max-age=300"})


def index() -> Response:
    """The viewer's page at `/`. It is kept outside viewer/ because its links are relative to `/`, so the same
    file under /viewer/ would load nothing."""
    return _serve(STATIC, "index.html", "no-cache")


def viewer_file(name: str) -> Response:
    if _valid(name) in TEST_PAGES:
        from chalicelib.settings import get_settings

        if not get_settings().serve_test_pages:
            raise NotFound("no such file")
    return _serve(VIEWER, name, "no-cache")


def vendor_file(name: str) -> Response:
    if _valid(name) not in VENDOR_FILES:
        raise NotFound("no such file")
    return _serve(VENDOR, name, "max-age=86400")


def _valid(name: str) -> str:
    if not PAGE_NAME.fullmatch(name):
        raise BadRequest("a file name is one segment of a-z, 0-9, '_', '-' and dots, ending .html, .js or .css")
    return name


def storage_origin() -> str:
    """The origin the presigned playback and export URLs point at: the bucket's own (or the emulator's), asked
    of the S3 client that signs them, so it follows the endpoint, the region and the addressing style exactly.
    Signing is local work: nothing is sent to S3."""
    return services().health.storage_origin()


def content_security_policy(storage_origin: str) -> str:
    """Scripts only from this origin (the asciinema player compiles its terminal from WebAssembly); media and
    fetches also from the bucket the playback URLs point at; no plugins, no framing, no <base>. Inline styles
    stay allowed: the player and the heat bar set them, and they cannot run code."""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        f"media-src 'self' blob: {storage_origin}",
        f"connect-src 'self' {storage_origin}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _serve(folder: Path, name: str, cache: str) -> Response:
    path = (folder / name).resolve()
    # the name checks above already forbid it; this keeps a symlink from leading out of the folder
    if path.parent != folder.resolve() or not path.is_file():
        raise NotFound("no such file")
    headers: dict[str, str | list[str]] = {
        "Content-Type": TYPES[Path(name).suffix], "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = content_security_policy(storage_origin())
    return Response(body=_read(path).decode("utf-8"), status_code=200, headers=headers)


@lru_cache(maxsize=64)
def _read(path: Path) -> bytes:
    return path.read_bytes()

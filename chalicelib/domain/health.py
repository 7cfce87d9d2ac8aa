"""GET /health: the configuration a deployment gets wrong, checked against what AWS answers (settings.manage).

Playback breaks silently when the pieces disagree: the bucket's CORS rule must name every origin that plays
recordings (PLAYBACK_ORIGINS, the gateway's), and the gateway's Content-Security-Policy must allow the storage
origin the presigned URLs point at. The report names each piece and what is missing; it never raises for a failed
check (an admin reads it to fix the deployment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable
from urllib.parse import urlsplit

from chalicelib.domain import access
from chalicelib.domain.access import Caller
from chalicelib.settings import Settings
from chalicelib.store.health import CorsRule, HealthProbes

# What a browser's credentialed, Range-reading playback of a presigned URL needs from a CORS rule
NEEDED_METHODS = ("GET", "HEAD")
NEEDED_HEADERS = ("range",)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    missing: list[str] = field(default_factory=list)


def _allows_origin(rule: CorsRule, origin: str) -> bool:
    return any(fnmatchcase(origin, allowed) for allowed in rule.origins)  # S3 allows one "*" per origin


def _allows_header(rule: CorsRule, header: str) -> bool:
    return any(fnmatchcase(header, allowed.lower()) for allowed in rule.headers)


def cors_gaps(rules: tuple[CorsRule, ...], origin: str) -> list[str]:
    """What no rule for `origin` grants ([] when one rule grants all a player needs)."""
    best: list[str] | None = None
    for rule in rules:
        if not _allows_origin(rule, origin):
            continue
        gaps = [f"method {m}" for m in NEEDED_METHODS if m not in rule.methods]
        gaps += [f"header {h}" for h in NEEDED_HEADERS if not _allows_header(rule, h)]
        if best is None or len(gaps) < len(best):
            best = gaps
    return [f"{origin}: no rule names this origin"] if best is None else [f"{origin}: {gap}" for gap in best]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HealthService:
    def __init__(self, probes: HealthProbes, presign: Callable[[str], str], settings: Settings) -> None:
        self._probes = probes
        self._presign = presign  # a URL as playback hands them out (signed locally: no request)
        self._settings = settings

    def storage_origin(self) -> str:
        """The origin presigned URLs point at (what a page's Content-Security-Policy must allow)."""
        return origin_of(self._presign("csp"))

    def report(self, caller: Caller) -> dict[str, Any]:
        access.require(caller, access.MANAGE_SETTINGS)
        table = self._probes.table()
        cors = self._probes.bucket_cors()
        origins = list(self._settings.playback_origins)
        gaps = [gap for origin in origins for gap in cors_gaps(cors.rules, origin)]
        storage = self.storage_origin()
        checks = [
            Check("table", table.ok, table.detail),
            Check("bucket", cors.probe.ok, cors.probe.detail),
            Check("playbackOrigins", bool(origins),
                  f"PLAYBACK_ORIGINS names {', '.join(origins)}" if origins else
                  "PLAYBACK_ORIGINS is empty: no browser page can fetch a recording after the 302"),
            Check("bucketCors", cors.probe.ok and not gaps,
                  "the bucket's CORS rules let every playback origin read recordings with Range requests"
                  if cors.probe.ok and not gaps else "the bucket's CORS rules do not serve every playback origin",
                  gaps),
        ]
        return {
            "ok": all(check.ok for check in checks),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, "missing": c.missing} for c in checks],
            "storageOrigin": storage,
            "playbackOrigins": origins,
            "gatewayContentSecurityPolicy": f"connect-src and media-src must allow {storage}",
        }

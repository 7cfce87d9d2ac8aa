"""Where a cookie-authenticated write may come from: the service's own pages, or the gateway's.

A browser attaches the gatwy_token cookie to any request to this host, whichever site's page made it; a bearer
token a page must add itself. So a state-changing request that carries only the cookie is refused (403) when the
browser says it comes from another site: `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither this
service's own nor one of PLAYBACK_ORIGINS (the gateway's origins, which already name where its pages live). A
request with neither header (a client that is not a browser) is let through: it is no forgery by a page.
"""

from __future__ import annotations

from typing import Mapping

from chalicelib.api.auth import cookie_token
from chalicelib.errors import Forbidden
from chalicelib.settings import Settings

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def own_origin(headers: Mapping[str, str]) -> str:
    # API Gateway says the scheme in X-Forwarded-Proto; `chalice local` serves plain http and sets none
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip().lower()
    return f"{scheme}://{(headers.get('host') or '').strip().lower()}"


def refuse_cross_site(method: str, headers: Mapping[str, str], settings: Settings) -> None:
    if method.upper() not in STATE_CHANGING or headers.get("authorization") or cookie_token(headers) is None:
        return
    if (headers.get("sec-fetch-site") or "").strip().lower() == "cross-site":
        raise Forbidden("a cookie-authenticated change must come from this site (Sec-Fetch-Site: cross-site)")
    origin = headers.get("origin")
    if origin is None:
        return
    allowed = {own_origin(headers), *(o.lower() for o in settings.playback_origins)}
    if origin.strip().rstrip("/").lower() not in allowed:
        raise Forbidden("a cookie-authenticated change must come from this site or the gateway's "
                        "(Origin is not among PLAYBACK_ORIGINS)")

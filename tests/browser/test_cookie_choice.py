"""The viewer and the API read the same gatwy_token from the same cookies (issue 15): the first of two, beside
cookies other pages of the domain set, as Chromium hands them to document.cookie and the API gets them."""

from __future__ import annotations

import pytest
import requests

from tests.support.clients import make_token

FIRST, SECOND = make_token("cookie-first"), make_token("cookie-second")
JARS = [  # (the cookies as the browser sends them, the token both must take)
    (f"gatwy_token={FIRST}; gatwy_token={SECOND}", FIRST),
    (f'theme=dark mode; consent={{"necessary":true}}; gatwy_token={SECOND}; dir=C:\\temp; gatwy_token={FIRST}',
     SECOND),
    (f'gatwy_token; name=J\u00fcrgen; gatwy_token="{FIRST}"', FIRST),
    (f"gatwy_token=; gatwy_token={FIRST}", None),
]


def api_choice(stack, jar: str) -> str | None:
    """Whose token the API took from this Cookie header: the user of a session started with it (None: 401)."""
    started = requests.post(f"{stack.base}/sessions", json={"protocol": "ssh", "connectionId": "cookie-c"},
                            headers={"Cookie": jar.encode(), "Sec-Fetch-Site": "same-origin"}, timeout=10)
    if started.status_code == 401:
        return None
    assert started.status_code == 200 and started.json()["sessionId"], started.text
    admin = {"Authorization": f"Bearer {make_token('cookie-admin', role='admin')}"}
    shown = requests.get(f"{stack.base}/sessions/{started.json()['sessionId']}", headers=admin, timeout=10).json()
    return {"cookie-first": FIRST, "cookie-second": SECOND}[shown["userId"]]


@pytest.mark.parametrize(("jar", "taken"), JARS)
def test_the_viewer_and_the_api_take_the_same_token(recording_enabled, open_tab, jar, taken):
    tab = open_tab(recording_enabled, user="cookie-reader")
    viewer = tab.page.evaluate(
        """async (jar) => {
             Object.defineProperty(document, "cookie", { get: () => jar, configurable: true });
             const api = await import(new URL("api.js", location.href));
             return api.readToken();
           }""", jar)
    assert viewer == taken
    assert api_choice(recording_enabled, jar) == taken

"""The local stack as a newcomer uses it: sessions listed with curl-like calls and a token."""

import requests

from tests.conftest import make_token


def test_lists_sessions_with_a_token_and_refuses_without(stack):
    admin = make_token("admin", role="admin")
    assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True},
                        headers={"Authorization": f"Bearer {admin}"}, timeout=10).status_code == 200
    created = requests.post(f"{stack.base}/sessions", json={"protocol": "ssh", "connectionId": "web-1"},
                            headers={"Authorization": f"Bearer {admin}"}, timeout=10).json()
    assert created["shouldRecord"] is True
    listed = requests.get(f"{stack.base}/sessions", cookies={"gatwy_token": admin}, timeout=10)
    assert listed.status_code == 200
    assert created["sessionId"] in [s["id"] for s in listed.json()["sessions"]]
    refused = requests.get(f"{stack.base}/sessions", timeout=10)
    assert refused.status_code == 401
    assert refused.json() == {"error": "authentication required"}

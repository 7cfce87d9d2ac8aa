"""The local stack as a newcomer uses it: sessions listed with curl-like calls and a token."""

import requests

from tests.support.clients import make_token


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


def test_a_path_or_method_no_route_has_gets_the_deployed_gateways_json_404(stack):
    """As infra/resources.yaml's MISSING_AUTHENTICATION_TOKEN response; chalice local itself would answer 403
    and echo the Authorization header (the token) in its body. (A known path with a method it lacks gets the
    app's 405 `{"error"}` locally; API Gateway answers it with this 404.)"""
    admin = make_token("admin", role="admin")
    for method, path in (("GET", "/no-such-route"), ("POST", "/sessions/a/b/c"), ("DELETE", "/viewer/a/b")):
        response = requests.request(method, f"{stack.base}{path}", headers={"Authorization": f"Bearer {admin}"},
                                    timeout=10)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"error": "no such route or method"}
        assert admin not in response.text
        assert response.headers["Access-Control-Allow-Origin"] == "*"

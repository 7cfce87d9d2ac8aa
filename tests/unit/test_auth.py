"""Token -> caller: HS256 only, from the Bearer header or the gatwy_token cookie."""

import base64
import json
import time

import jwt
import pytest

from chalicelib.api.auth import authenticate, caller_from_token, token_from_headers
from chalicelib.errors import Unauthorized
from chalicelib.settings import load_settings
from tests.support.clients import SECRET, make_token

SETTINGS = load_settings({"TABLE_NAME": "t", "BUCKET_NAME": "b", "JWT_SECRET": SECRET})


def unsigned(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_gateway_token_gives_the_role_permissions():
    caller = caller_from_token(make_token("u1", role="user"), SETTINGS)
    assert (caller.user_id, caller.username, caller.role) == ("u1", "u1", "user")
    assert caller.permissions == frozenset({"sessions.view_own"})
    admin = caller_from_token(make_token("a", role="admin"), SETTINGS)
    assert "settings.manage" in admin.permissions and "sessions.delete" in admin.permissions


def test_sub_is_an_alias_of_user_id_and_numbers_become_strings():
    token = jwt.encode({"sub": "42", "role": "user", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert caller_from_token(token, SETTINGS).user_id == "42"
    token = jwt.encode({"userId": 7, "role": "user", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert caller_from_token(token, SETTINGS).user_id == "7"


def test_permissions_claim_overrides_the_role():
    caller = caller_from_token(make_token("svc", role="admin", permissions=["sessions.ingest"]), SETTINGS)
    assert caller.permissions == frozenset({"sessions.ingest"})


def test_role_permissions_are_configurable():
    settings = load_settings({"TABLE_NAME": "t", "BUCKET_NAME": "b", "JWT_SECRET": SECRET,
                              "ROLE_PERMISSIONS": json.dumps({"auditor": ["sessions.view_any"]})})
    assert caller_from_token(make_token("x", role="auditor"), settings).permissions == {"sessions.view_any"}
    assert caller_from_token(make_token("x", role="admin"), settings).permissions == frozenset()


@pytest.mark.parametrize("token", [
    make_token("u", secret="another-secret-" + "y" * 32),
    jwt.encode({"userId": "u", "exp": int(time.time()) - 61}, SECRET, algorithm="HS256"),  # past the 60 s leeway
    jwt.encode({"userId": "u"}, SECRET, algorithm="HS256"),  # no exp
    jwt.encode({"userId": "u", "exp": int(time.time()) + 60}, SECRET, algorithm="HS512"),
    unsigned({"userId": "u", "role": "admin", "exp": int(time.time()) + 60}),
    "not.a.jwt",
    "garbage",
    jwt.encode({"role": "admin", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),  # no user
    make_token("u", permissions="sessions.view_any"),  # permissions not a list
    make_token("u", username=["x"]),
], ids=["other-key", "expired", "no-exp", "hs512", "alg-none", "three-parts", "garbage", "no-user",
        "bad-permissions", "bad-username"])
def test_bad_tokens_are_401(token):
    with pytest.raises(Unauthorized):
        caller_from_token(token, SETTINGS)


def test_token_from_bearer_or_cookie():
    assert token_from_headers({"authorization": "Bearer abc"}) == "abc"
    assert token_from_headers({"cookie": "other=1; gatwy_token=xyz"}) == "xyz"
    assert token_from_headers({"authorization": "Bearer abc", "cookie": "gatwy_token=xyz"}) == "abc"
    assert token_from_headers({}) is None
    with pytest.raises(Unauthorized):
        token_from_headers({"authorization": "Basic dXNlcjpwYXNz"})


def test_missing_token_is_401():
    with pytest.raises(Unauthorized, match="authentication required"):
        authenticate({}, SETTINGS)

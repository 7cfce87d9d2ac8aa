"""The HTTP edge's readings of what clients send: the Cookie header as browsers send it, token time claims with
leeway and types, audience/issuer when configured, token user ids, lone surrogates in JSON, and cross-site writes.
(Issue 15; each of these failed on the code before it.)"""

from __future__ import annotations

import json
import time

import jwt
import pytest

from chalicelib.api import origins, params
from chalicelib.api.auth import caller_from_token, token_from_headers
from chalicelib.errors import BadRequest, Forbidden, Unauthorized, UnsupportedMediaType
from chalicelib.settings import ConfigError, load_settings
from tests.support.clients import SECRET, make_token

BASE_ENV = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "JWT_SECRET": SECRET}
SETTINGS = load_settings(BASE_ENV)
TOKEN = make_token("alice")


# ---- cookies --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("neighbour", [
    "theme=dark mode", 'consent={"necessary":true}', "path=C:\\temp", "name=J\u00fcrgen", "flag", "a=b=c", "=x",
    'quoted="a;b', "empty=",
])
def test_an_unusual_cookie_beside_the_token_does_not_hide_it(neighbour):
    for header in (f"{neighbour}; gatwy_token={TOKEN}", f"gatwy_token={TOKEN}; {neighbour}",
                   f"{neighbour};gatwy_token={TOKEN};{neighbour}"):
        assert token_from_headers({"cookie": header}) == TOKEN, header


def test_of_two_token_cookies_the_first_is_taken_as_the_viewer_takes_it():
    other = make_token("bob")
    assert token_from_headers({"cookie": f"gatwy_token={TOKEN}; gatwy_token={other}"}) == TOKEN
    assert token_from_headers({"cookie": f"x=1; gatwy_token={other};gatwy_token={TOKEN}"}) == other
    assert token_from_headers({"cookie": f"gatwy_token=; gatwy_token={TOKEN}"}) is None  # viewer: null too


def test_cookie_names_match_exactly_and_values_may_be_quoted():
    assert token_from_headers({"cookie": f"xgatwy_token={TOKEN}; gatwy_tokenx={TOKEN}"}) is None
    assert token_from_headers({"cookie": f' gatwy_token = "{TOKEN}" '}) == TOKEN


# ---- tokens ---------------------------------------------------------------------------------------------------
def signed(claims, secret=SECRET):
    return jwt.encode(claims, secret, algorithm="HS256")


def claims(**extra):
    return {"userId": "alice", "username": "alice", "role": "user", "exp": int(time.time()) + 600, **extra}


# offsets from the moment the test runs (not from collection: a long suite would age them past the leeway)
@pytest.mark.parametrize("skew", [{"iat": 2}, {"nbf": 30}, {"iat": 59}, {"exp": -30}])
def test_clock_skew_within_the_leeway_is_accepted(skew):
    now = time.time()
    assert caller_from_token(signed(claims(**{k: now + v for k, v in skew.items()})), SETTINGS).user_id == "alice"


@pytest.mark.parametrize("skew", [{"iat": 120}, {"nbf": 120}, {"exp": -120}])
def test_clock_skew_beyond_the_leeway_is_refused(skew):
    now = time.time()
    with pytest.raises(Unauthorized):
        caller_from_token(signed(claims(**{k: now + v for k, v in skew.items()})), SETTINGS)


def test_the_leeway_is_configurable():
    strict = load_settings({**BASE_ENV, "JWT_LEEWAY_SECONDS": "0"})
    with pytest.raises(Unauthorized):
        caller_from_token(signed(claims(iat=time.time() + 5)), strict)
    with pytest.raises(ConfigError):
        load_settings({**BASE_ENV, "JWT_LEEWAY_SECONDS": "-1"})


@pytest.mark.parametrize("value", ["9999999999", True, [1], {"a": 1}, float("inf"), float("nan")])
@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_time_claims_must_be_numbers(name, value):
    body = json.dumps(claims(**{name: value}), allow_nan=True)  # Infinity and NaN: JSON as Python reads it
    token = jwt.api_jws.encode(body.encode(), SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        caller_from_token(token, SETTINGS)


def test_audience_and_issuer_are_enforced_when_configured():
    strict = load_settings({**BASE_ENV, "JWT_AUDIENCE": "session-audit", "JWT_ISSUER": "gatwy"})
    assert caller_from_token(signed(claims(aud="session-audit", iss="gatwy")), strict).user_id == "alice"
    assert caller_from_token(signed(claims(aud=["other", "session-audit"], iss="gatwy")), strict).user_id == "alice"
    for bad in (claims(aud="other", iss="gatwy"), claims(aud="session-audit", iss="other"),
                claims(iss="gatwy"), claims(aud="session-audit")):
        with pytest.raises(Unauthorized):
            caller_from_token(signed(bad), strict)


def test_without_configured_audience_a_token_carrying_one_is_accepted():
    assert caller_from_token(signed(claims(aud="anything", iss="anyone")), SETTINGS).user_id == "alice"


@pytest.mark.parametrize("user_id", ["x" * 129, "a/b", "a b", "..", "\u00fc", "a\ud800", "a\x00b"])
def test_a_token_user_id_that_is_not_a_valid_id_is_401(user_id):
    with pytest.raises(Unauthorized):
        caller_from_token(signed(claims(userId=user_id)), SETTINGS)
    assert caller_from_token(signed(claims(userId="x" * 128)), SETTINGS).user_id == "x" * 128


def test_a_lone_surrogate_in_the_token_username_becomes_the_replacement_character():
    assert caller_from_token(signed(claims(username="ab\ud800")), SETTINGS).username == "ab\ufffd"


# ---- JSON bodies ----------------------------------------------------------------------------------------------
def test_a_json_body_needs_its_content_type():
    for content_type in (None, "", "text/plain"):
        with pytest.raises(UnsupportedMediaType):
            params.json_body(b"{}", content_type)
    assert params.json_body(b"{}", "application/json; charset=utf-8") == {}


def test_lone_surrogates_become_the_replacement_character_and_pairs_stay():
    raw = b'{"k\\ud800": ["\\udfff", {"n": "\\ud83d\\ude00 \\uDBFF!"}], "plain": "\\\\ud800"}'
    assert params.json_body(raw, "application/json") == {
        "k\ufffd": ["\ufffd", {"n": "\U0001f600 \ufffd!"}], "plain": "\\ud800"}
    deep = b"[" * 900 + b'"\\ud800"' + b"]" * 900
    value = params.json_body(deep, "application/json")
    for _ in range(900):
        value = value[0] if isinstance(value, list) else value
    assert value == "\ufffd"
    with pytest.raises(BadRequest):
        params.json_body(b'"\xed\xa0\x80"', "application/json")  # an encoded surrogate is not UTF-8


# ---- cross-site writes ----------------------------------------------------------------------------------------
GATEWAY = load_settings({**BASE_ENV, "PLAYBACK_ORIGINS": "https://gateway.example"})
COOKIE = {"cookie": f"gatwy_token={TOKEN}", "host": "api.example"}


@pytest.mark.parametrize("headers", [
    {"sec-fetch-site": "cross-site"},
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"origin": "http://api.example.evil"},
    {"sec-fetch-site": "same-site", "origin": "https://other.gateway.example"},
])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_cookie_only_change_from_another_site_is_refused(method, headers):
    with pytest.raises(Forbidden):
        origins.refuse_cross_site(method, {**COOKIE, **headers}, GATEWAY)


@pytest.mark.parametrize("headers", [
    {},  # not a browser
    {"sec-fetch-site": "same-origin", "origin": "http://api.example"},
    {"origin": "https://gateway.example"},
    {"origin": "https://gateway.example/", "sec-fetch-site": "same-site"},
    {"origin": "https://api.example", "x-forwarded-proto": "https"},
    {"sec-fetch-site": "same-origin"},
])
def test_a_cookie_only_change_from_this_site_or_the_gateway_passes(headers):
    origins.refuse_cross_site("POST", {**COOKIE, **headers}, GATEWAY)


def test_reads_and_bearer_requests_are_not_checked():
    hostile = {**COOKIE, "sec-fetch-site": "cross-site", "origin": "https://evil.example"}
    origins.refuse_cross_site("GET", hostile, GATEWAY)
    origins.refuse_cross_site("POST", {**hostile, "authorization": f"Bearer {TOKEN}"}, GATEWAY)
    origins.refuse_cross_site("POST", {k: v for k, v in hostile.items() if k != "cookie"}, GATEWAY)
    with pytest.raises(Forbidden):  # the scheme counts: an http page is not the https service
        origins.refuse_cross_site("POST", {**COOKIE, "origin": "http://api.example", "x-forwarded-proto": "https"},
                                  GATEWAY)

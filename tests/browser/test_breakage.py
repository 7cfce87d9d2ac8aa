"""The browser tests notice when a piece the gateway relies on is broken.

- A bucket whose CORS rule does not name the page's origin: the Blob download and the crossorigin <video> fail,
  and succeed again once the rule is put back.
- A bucket that answers credentialed requests without `Access-Control-Allow-Credentials: true` (plain moto, as
  the local stack serves it with LOCAL_S3_CREDENTIALS_CORS=0): `fetch(..., {credentials: 'include'})` and
  `<video crossorigin="use-credentials">` fail; `crossorigin="anonymous"` still plays, since the cookie is only
  needed on the first, same-origin hop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import pytest
import requests

from chalicelib.media import webm
from tests.support.browser import (
    BUCKET,
    admin_headers,
    fixture_chunks,
    start_session,
    upload,
    wait_playable,
)
from tests.support.stack import Stack, running_stack

FIXTURE = "vp9-64x48-5s-1000ms.webm"


def s3_of(stack: Stack):
    return boto3.client("s3", endpoint_url=stack.storage, region_name="us-east-1", aws_access_key_id="local",
                        aws_secret_access_key="local")


def recorded_fixture(stack: Stack, connection_id: str) -> tuple[str, bytes]:
    session_id = start_session(stack, "rdp", connection_id)
    chunks = fixture_chunks(FIXTURE)
    upload(stack, session_id, chunks, "application/octet-stream")
    return session_id, b"".join(chunks)


def test_a_bucket_cors_rule_without_the_pages_origin_breaks_playback(recording_enabled, open_tab):
    stack = recording_enabled
    session_id, data = recorded_fixture(stack, "browser-cors")
    s3 = s3_of(stack)
    rules = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    assert any(stack.base in rule["AllowedOrigins"] for rule in rules)
    elsewhere = [{**rule, "AllowedOrigins": ["https://gateway.example.com"]} for rule in rules]
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": elsewhere})
    try:
        tab = open_tab(stack)
        fetched = tab.call("fetchRecording", session_id)
        assert fetched == {"ok": False, "error": "TypeError: Failed to fetch"}
        played = tab.call("playVideo", {"sessionId": session_id, "timeoutMs": 5000})
        assert not played["ok"] and "MediaError" in played["error"], played
    finally:
        s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})
    # the same page, the same recording, the rule put back: it works, so the rule was what broke it
    tab = open_tab(stack)
    fetched = tab.call("fetchRecording", session_id)
    # the client's bytes, or (once the sweep has run) their seekable form, which rebuilds them exactly
    seekable = webm.plan(webm.scan(data)).assemble(data)
    assert webm.rebuild(seekable) == data
    assert fetched["ok"] and fetched["sha256"] in {hashlib.sha256(data).hexdigest(),
                                                   hashlib.sha256(seekable).hexdigest()}, fetched
    assert tab.call("playVideo", {"sessionId": session_id})["ok"]


@pytest.fixture(scope="module")
def plain_moto_stack() -> Iterator[Stack]:
    with running_stack(LOCAL_S3_CREDENTIALS_CORS="0") as stack:
        response = requests.put(f"{stack.base}/settings/recording", json={"enabled": True},
                                headers=admin_headers(), timeout=10)
        assert response.status_code == 200, response.text
        yield stack


def test_a_bucket_without_credentialed_cors_breaks_the_gateways_download(plain_moto_stack, open_tab):
    stack = plain_moto_stack
    session_id, data = recorded_fixture(stack, "browser-plain-moto")
    url = wait_playable(stack, session_id)["url"]
    answer = requests.get(url, headers={"Origin": stack.base}, timeout=10)
    assert answer.headers.get("Access-Control-Allow-Origin") == stack.base
    assert "Access-Control-Allow-Credentials" not in answer.headers, "the switch no longer turns the fix off"

    tab = open_tab(stack)
    fetched = tab.call("fetchRecording", session_id)
    assert fetched == {"ok": False, "error": "TypeError: Failed to fetch"}
    played = tab.call("playVideo", {"sessionId": session_id, "crossOrigin": "use-credentials", "timeoutMs": 5000})
    assert not played["ok"] and "MediaError" in played["error"], played
    anonymous = tab.call("playVideo", {"sessionId": session_id, "crossOrigin": "anonymous", "seekTo": [2.5]})
    assert anonymous["ok"], anonymous
    assert len(data) == sum(len(c) for c in fixture_chunks(FIXTURE))

"""The recorded WebM fixtures play and seek in Chromium straight from the (moto) bucket, as a presigned GET.

What the recorder makes, independent of the service's routes: these files have no duration and no cues
(tests/fixtures/webm/README.md), and Chromium still seeks in them once it has read them to the end.
"""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from tests.support.browser import fixtures_dir, second_shown

FIXTURES = json.loads((fixtures_dir() / "fixtures.json").read_text())
NAMES = sorted(FIXTURES["files"])


def test_the_fixtures_are_small_and_as_described():
    assert len(NAMES) >= 2
    for name, made in FIXTURES["files"].items():
        data = (fixtures_dir() / name).read_bytes()
        assert len(data) < 300_000
        assert len(data) == made["size"] == sum(made["chunkSizes"])
        assert hashlib.sha256(data).hexdigest() == made["sha256"]


@pytest.fixture(scope="module")
def bucket(stack):
    s3 = boto3.client("s3", endpoint_url=stack.storage, region_name="us-east-1", aws_access_key_id="local",
                      aws_secret_access_key="local")
    return s3, "session-audit-http"


@pytest.mark.parametrize("name", NAMES)
def test_a_fixture_seeks_to_each_second(stack, bucket, open_tab, name):
    s3, bucket_name = bucket
    key = f"fixtures/{name}"
    s3.put_object(Bucket=bucket_name, Key=key, Body=(fixtures_dir() / name).read_bytes(), ContentType="video/webm")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket_name, "Key": key}, ExpiresIn=300)
    seconds = FIXTURES["files"][name]["options"]["seconds"]
    tab = open_tab(stack)
    # backwards, so no seek is served by simply playing on
    seek_to = [second + 0.5 for second in reversed(range(seconds))]
    played = tab.call("playVideo", {"url": url, "seekTo": seek_to})
    assert played["ok"], played
    assert played["durationAtMetadata"] == "Infinity"  # no Duration element: MediaRecorder never writes one
    assert seconds - 0.5 < played["duration"] < seconds + 1
    assert all(seek["mediaTime"] is not None for seek in played["seeks"]), "a sought frame was never presented"
    shown = [second_shown(seek["rgb"], FIXTURES["palette"]) for seek in played["seeks"]]
    assert shown == [int(t) % len(FIXTURES["palette"]) for t in seek_to], played["seeks"]
    ranges = [r for r in tab.requests if r["url"].startswith(stack.storage)]
    assert ranges and all(r.get("status") in (200, 206) for r in ranges), ranges

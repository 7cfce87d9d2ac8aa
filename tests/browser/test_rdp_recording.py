"""The gateway's RDP recorder and its players, in Chromium, against the local stack, by cookie.

One recording is made for the module (5 s of a canvas that changes colour each second, 1 s timeslice, input
events while it records), then played back the ways the gateway plays it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from chalicelib.media.webm import rebuild
from tests.support.browser import USER, Tab, admin_headers, second_shown, seekable_url, wait_playable
from tests.support.stack import Stack

SECONDS = 5


@dataclass
class Recorded:
    stack: Stack
    result: dict[str, Any]
    data: bytes
    palette: list[list[int]]

    @property
    def session_id(self) -> str:
        return str(self.result["started"]["sessionId"])


def work_while_recording(tab: Tab) -> None:
    """A user at the remote desktop: mouse moves, a few clicks and keys, across the recording."""
    page = tab.page
    page.wait_for_selector("#screen")
    box = page.locator("#screen").bounding_box()
    assert box is not None
    for step in range(int(SECONDS * 10 * 0.8)):
        page.mouse.move(box["x"] + 5 + step % 50, box["y"] + 5 + step % 30)
        if step % 10 == 3:
            page.mouse.click(box["x"] + 10, box["y"] + 10)
        if step % 10 == 7:
            page.keyboard.press("a")
        page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def recorded(recording_enabled: Stack, open_tab: Any) -> Recorded:
    stack = recording_enabled
    tab = open_tab(stack)
    tab.page.evaluate("(options) => { window.recorded = window.browserCheck.rdpSession(options); }",
                      {"connectionId": "browser-rdp", "seconds": SECONDS, "timesliceMs": 1000, "flushMs": 1000})
    work_while_recording(tab)
    result = tab.page.evaluate("() => window.recorded")
    data = base64.b64decode(result.pop("base64"))
    assert result["started"]["sessionId"], result
    wait_playable(stack, result["started"]["sessionId"])
    return Recorded(stack, result, data, tab.page.evaluate("() => window.browserCheck.palette"))


def test_the_recorder_records_and_uploads_as_the_gateway_does(recorded):
    result = recorded.result
    assert result["started"]["status"] == 200 and result["started"]["shouldRecord"] is True
    assert result["recorderMimeType"].replace(" ", "") == "video/webm;codecs=vp9"
    assert len(result["chunkSizes"]) >= SECONDS - 1, "several chunks, one per timeslice"
    assert result["chunkStatuses"] == [200] * len(result["chunkSizes"])
    assert result["finalizeStatus"] == 200, result["finalizeBody"]
    assert len(recorded.data) == result["size"] == sum(result["chunkSizes"])


def test_the_session_has_the_recording(recorded):
    session = requests.get(f"{recorded.stack.base}/sessions/{recorded.session_id}", headers=admin_headers(),
                           timeout=10).json()
    assert session["userId"] == USER and session["protocol"] == "rdp"
    assert session["hasRecording"] is True
    assert session["fileSize"] == len(recorded.data)


def test_the_input_events_arrive_in_batches(recorded):
    sent = recorded.result["events"]
    assert {event["type"] for event in sent} == {"move", "click", "key"}
    assert len(recorded.result["eventStatuses"]) >= 2, "flushed in several batches"
    assert set(recorded.result["eventStatuses"]) == {200}
    listed = requests.get(f"{recorded.stack.base}/sessions/{recorded.session_id}/recording/events",
                          headers=admin_headers(), timeout=10).json()["events"]
    expected = sorted(((e["elapsed"], e["type"]) for e in sent), key=lambda pair: pair[0])
    assert [(e["elapsed"], e["event_type"]) for e in listed] == expected
    assert expected[0][0] > 0 and expected[-1][0] < SECONDS + 1


def test_the_gateway_ui_fetches_the_recording_into_a_blob_across_the_redirect(recorded, open_tab):
    stored = requests.get(seekable_url(recorded.stack, recorded.session_id), timeout=30).content
    assert rebuild(stored) == recorded.data  # the client's exact bytes, rebuilt from the seekable object
    tab = open_tab(recorded.stack)
    fetched = tab.call("fetchRecording", recorded.session_id)
    assert fetched["ok"] and fetched["status"] == 200, fetched
    assert fetched["redirected"] is True and fetched["url"].startswith(recorded.stack.storage + "/")
    assert fetched["contentType"] == "video/webm"
    assert fetched["size"] == len(stored)
    assert fetched["sha256"] == hashlib.sha256(stored).hexdigest()
    assert hashlib.sha256(rebuild(stored)).hexdigest() == recorded.result["sha256"]


def test_without_the_cookie_the_recording_is_refused(recorded, open_tab):
    tab = open_tab(recorded.stack)
    tab.page.context.clear_cookies()
    fetched = tab.call("fetchRecording", recorded.session_id)
    assert fetched["status"] == 401 and fetched["redirected"] is False


@pytest.mark.parametrize("cross_origin", ["use-credentials", "anonymous"])
def test_the_video_loads_learns_its_duration_and_seeks_to_the_right_frame(recorded, open_tab, cross_origin):
    tab = open_tab(recorded.stack)
    seek_to = [SECONDS / 2, *(second + 0.5 for second in reversed(range(SECONDS)))]
    played = tab.call("playVideo", {"sessionId": recorded.session_id, "crossOrigin": cross_origin,
                                    "seekTo": seek_to})
    assert played["ok"], played
    assert played["size"] == [64, 48]
    assert SECONDS - 0.5 < played["duration"] < SECONDS + 1
    assert [e["type"] for e in played["events"]].count("seeked") >= len(seek_to)
    assert all(seek["mediaTime"] is not None for seek in played["seeks"]), "a sought frame was never presented"
    shown = [second_shown(seek["rgb"], recorded.palette) for seek in played["seeks"]]
    assert shown == [int(t) for t in seek_to], played["seeks"]
    to_storage = [r for r in tab.requests if r["url"].startswith(recorded.stack.storage)]
    assert to_storage and {r["status"] for r in to_storage} <= {200, 206}, tab.requests

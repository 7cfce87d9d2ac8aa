"""Every object under recordings/ leads back to its session, or reconciliation would take it for an orphan."""

import pytest

from chalicelib.store import keys


@pytest.mark.parametrize("session_id", ["sess_0123abcd", "a.b.c", "x"])
def test_both_recording_keys_lead_back_to_their_session(session_id):
    for key in (keys.recording_key(session_id, "webm"), keys.recording_key(session_id, "cast"),
                keys.seekable_key(session_id)):
        assert keys.session_of_recording_key(key) == session_id

"""The recording rig (tests/support/rig.py): the app over moto in process with a driven clock and gated clients."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.clients import TABLE, Api
from tests.support.recording_harness import Clock, Gate, install
from tests.support.rig import SMALL_PART, SOFT, Rig


@pytest.fixture
def part_size() -> int:
    return SMALL_PART


@pytest.fixture
def soft_segments() -> int:
    return SOFT


@pytest.fixture
def rig(api: Api, client: Any, recording_on: None, monkeypatch: pytest.MonkeyPatch, part_size: int,
        soft_segments: int) -> Rig:
    monkeypatch.setenv("RECORDING_PART_BYTES", str(part_size))
    monkeypatch.setenv("FINALIZE_GRACE_SECONDS", "3")
    import moto.s3.models

    # the emulator's floor for non-last parts follows the configured part size (S3's own is 5 MiB)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", min(part_size, 5 * 1024 * 1024))
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    clock = Clock(time.time())
    gate = Gate()
    services = install(TABLE, clock, gate, soft_segments=soft_segments)
    return Rig(api=api, client=client, clock=clock, gate=gate, services=services)

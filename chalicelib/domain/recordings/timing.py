"""The pipeline's one clock: epoch seconds from an injected function (tests drive it), in the shapes stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Callable

from chalicelib.domain.sessions import iso


class Clock:
    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self._sleep = sleep

    def now(self) -> float:
        return self._clock()

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def iso_now(self) -> str:
        return iso(datetime.fromtimestamp(self._clock(), UTC))

    def iso_in(self, seconds: float) -> str:
        return iso(datetime.fromtimestamp(self._clock() + seconds, UTC))

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)


def iso_at(epoch_seconds: float) -> str:
    return iso(datetime.fromtimestamp(epoch_seconds, UTC))

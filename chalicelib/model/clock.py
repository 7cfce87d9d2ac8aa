"""The one clock every service takes: epoch seconds from an injected function and the sleep that goes with it
(tests drive both), in the shapes the services store and answer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Callable


def iso(moment: datetime) -> str:
    """The one time format of every stored and answered time: 2024-01-01T00:00:00.000Z.

    Always four year digits: glibc's strftime("%Y") writes year 836 as "836", which is not ISO 8601 and sorts
    after "2024" in the list indexes' string order. isoformat() pads the year.
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_at(epoch_seconds: float) -> str:
    return iso(datetime.fromtimestamp(epoch_seconds, UTC))


@dataclass(frozen=True)
class Clock:
    seconds: Callable[[], float] = time.time
    pause: Callable[[float], None] = time.sleep

    def now(self) -> float:
        return self.seconds()

    def now_ms(self) -> int:
        return int(self.seconds() * 1000)

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.seconds(), UTC)

    def iso_now(self) -> str:
        return iso_at(self.seconds())

    def iso_in(self, seconds: float) -> str:
        return iso_at(self.seconds() + seconds)

    def sleep(self, seconds: float) -> None:
        self.pause(seconds)


SYSTEM_CLOCK = Clock()

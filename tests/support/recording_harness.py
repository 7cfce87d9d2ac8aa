"""Test harness for the recording pipeline: a driven clock, and AWS clients behind a gate that counts calls,
makes each call atomic (as AWS is; moto in process is not under threads) and can crash the caller before
the Nth call (that is: right after call N-1), as a Lambda dying between two AWS calls would."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib import aws, container
from chalicelib.model.clock import Clock as ServiceClock
from chalicelib.settings import get_settings


class Crash(BaseException):
    """A process dying: BaseException, so no `except Exception` of the service can swallow it."""


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start
        self.on_sleep: list[Any] = []  # callbacks run (once each, in order) by the next sleeps
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            hook = self.on_sleep.pop(0) if self.on_sleep else None
        if hook is not None:
            hook()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class Gate:
    def __init__(self) -> None:
        self.calls = 0
        self.crash_at: int | None = None
        self.names: list[str] = []
        self.lock = threading.RLock()

    def wrap(self, target: Any, label: str) -> Any:
        return _Proxy(target, self, label)

    def arm(self, after_calls: int) -> None:
        """Crash right after `after_calls` more calls have succeeded."""
        self.crash_at = self.calls + after_calls + 1


class _Proxy:
    def __init__(self, target: Any, gate: Gate, label: str) -> None:
        self._target = target
        self._gate = gate
        self._label = label

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in ("meta", "client"):
            return _Proxy(value, self._gate, self._label)
        if not callable(value):
            return value
        gate = self._gate

        def call(*args: Any, **kwargs: Any) -> Any:
            with gate.lock:
                gate.calls += 1
                if gate.crash_at is not None and gate.calls >= gate.crash_at:
                    gate.crash_at = None
                    raise Crash(f"crash before {self._label}.{name} (call {gate.calls})")
                gate.names.append(f"{self._label}.{name}")
                return value(*args, **kwargs)

        return call


def install(table_name: str, clock: Clock, gate: Gate, **options: Any) -> Any:
    """Build the app's services over gated moto clients and a driven clock; install them for the app."""
    settings = get_settings()
    table = gate.wrap(aws.table(table_name), "dynamodb")
    s3 = gate.wrap(aws.s3_client(settings.s3_addressing_style), "s3")  # SigV4, as the app configures it
    services = container.build(settings, table=table, s3=s3, clock=ServiceClock(clock, clock.sleep), **options)
    container.use(services)
    return services

"""The real local stack (`scripts/local_stack.py`: moto server + `chalice local`) on free loopback ports, for the
HTTP and browser tests and the load bench."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.support.clients import ROOT, SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Stack:
    base: str
    storage: str
    secret: str


@contextmanager
def running_stack(**extra_env: str) -> Iterator[Stack]:
    """scripts/local_stack.py on free ports until the block ends; `extra_env` overrides its environment."""
    port, moto_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "MOTO_PORT": str(moto_port), "JWT_SECRET": SECRET,
           "TABLE_NAME": "session-audit-http", "BUCKET_NAME": "session-audit-http",
           "SCHEDULE_PERIOD_SECONDS": "2", "FINALIZE_GRACE_SECONDS": "1", "PYTHONUNBUFFERED": "1",
           "LOCAL_STACK_AUTORELOAD": "0", "SEED_DEMO": "0", **extra_env}
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB"):
        if name not in extra_env:
            env.pop(name, None)  # the caller's shell never points the tests' stack elsewhere
    process = subprocess.Popen([sys.executable, "scripts/local_stack.py"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip() == "READY":
            break
    else:
        pass
    if not lines or lines[-1].strip() != "READY":
        process.kill()
        pytest.fail("local stack did not start:\n" + "".join(lines))
    # keep draining its output so the pipe never fills and blocks the stack
    import threading

    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        storage = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{moto_port}"
        yield Stack(base=f"http://127.0.0.1:{port}", storage=storage, secret=SECRET)
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)

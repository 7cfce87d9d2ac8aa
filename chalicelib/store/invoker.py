"""Starting a background function (the purge worker) without waiting for it.

On AWS: an asynchronous Lambda invoke of `<FUNCTION_NAME_PREFIX><name>` (docs/deploy.md). Under `make run`, where
no Lambda exists: a daemon thread running the same handler in this process. In tests: whatever the test injects.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable

from chalicelib import aws

log = logging.getLogger("session_audit.invoker")


class LambdaInvoker:
    def __init__(self, prefix: str, client: Any = None) -> None:
        self._prefix = prefix
        self._client = client

    def __call__(self, name: str) -> None:
        lambda_client = self._client or aws.lambda_client()
        lambda_client.invoke(FunctionName=self._prefix + name, InvocationType="Event",
                             Payload=json.dumps({"startedBy": "session-audit"}).encode())


class ThreadInvoker:
    def __init__(self, handlers: dict[str, Callable[[], Any]]) -> None:
        self._handlers = handlers

    def __call__(self, name: str) -> None:
        def run() -> None:
            try:
                self._handlers[name]()
            except Exception:
                log.exception("background %s failed", name)

        threading.Thread(target=run, name=name, daemon=True).start()


def no_invoker(name: str) -> None:
    """Leave the work to the next retention_sweep run (or to a test that runs the worker itself)."""
    log.info("not starting %s: WORKER_INVOKE=none", name)

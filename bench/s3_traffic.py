"""Count what an S3 client moves, by hooking botocore's events: requests per operation, bytes sent in request
bodies (PutObject, UploadPart), bytes received (GetObject) and bytes copied inside S3 (UploadPartCopy, CopyObject)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from typing import Any


class S3Traffic:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.sent = 0
        self.received = 0
        self.copied = 0
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall time inside each operation's calls
        self._started = threading.local()

    def attach(self, client: Any) -> S3Traffic:
        events = client.meta.events
        events.register("provide-client-params.s3.*", self._params)
        events.register("after-call.s3.GetObject", self._got)
        events.register("before-call.s3.*", self._begin)
        events.register("after-call.s3.*", self._end)
        return self

    def detach(self, client: Any) -> None:
        events = client.meta.events
        events.unregister("provide-client-params.s3.*", self._params)
        events.unregister("after-call.s3.GetObject", self._got)
        events.unregister("before-call.s3.*", self._begin)
        events.unregister("after-call.s3.*", self._end)

    def _begin(self, **_: Any) -> None:
        self._started.at = time.perf_counter()

    def _end(self, model: Any, **_: Any) -> None:
        self.seconds[model.name] += time.perf_counter() - getattr(self._started, "at", time.perf_counter())

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        body = params.get("Body")
        if isinstance(body, (bytes, bytearray)):
            self.sent += len(body)
        copy_range = params.get("CopySourceRange")
        if copy_range:
            low, high = copy_range.removeprefix("bytes=").split("-")
            self.copied += int(high) - int(low) + 1

    def _got(self, parsed: dict[str, Any], **_: Any) -> None:
        self.received += int(parsed.get("ContentLength") or 0)

    def reset(self) -> None:
        self.calls.clear()
        self.sent = self.received = self.copied = 0
        self.seconds.clear()

    def summary(self) -> dict[str, Any]:
        return {"calls": dict(sorted(self.calls.items())), "sent": self.sent, "received": self.received,
                "copied": self.copied, "copy_seconds": self.seconds.get("UploadPartCopy", 0.0),
                "op_seconds": {k: round(v, 2) for k, v in sorted(self.seconds.items())}}

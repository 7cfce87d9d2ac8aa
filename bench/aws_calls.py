"""Count AWS requests (and DynamoDB items read) made through boto3, by hooking botocore's events."""

from __future__ import annotations

from collections import Counter
from typing import Any


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-call.*.*", self._before)
        events.register("after-call.dynamodb.*", self._after_dynamodb)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def _after_dynamodb(self, parsed: dict[str, Any], **_: Any) -> None:
        if "ScannedCount" in parsed:
            self.items_read += parsed["ScannedCount"]

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

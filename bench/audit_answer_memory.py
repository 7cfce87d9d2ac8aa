"""Peak Python memory of answering a whole session's records (GET /sessions/{id}/recording/events and
/commands without `limit`), built the way main built it (baseline) and streamed (the service).

moto in process; MAX_RESPONSE_BYTES at its default (5,000,000), so both answers are large enough to go to S3.
The baseline is main's path, rebuilt in this file from the same store and shapes: every record read into a list,
shaped into a list of dicts, dumped to one JSON string, encoded and put to S3 in one PutObject. The service's
path is `chalicelib.api.answers.json_records` over the domain's lazy readers: records read page after page, the
JSON kept only while it fits a Lambda response and then written to S3 a part at a time (a multipart upload). Both
run in the same process, one after the other, measured with tracemalloc (peak above what was allocated before;
moto's own storage of the uploaded object is inside both figures, as it would not be on AWS, so the gap between
them is the part that matters).

    .venv/bin/python -m bench.audit_answer_memory [--events 400000] [--commands 40000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.environment import use_bench_environment

SECRET = "bench-secret-" + "x" * 32
TABLE = "bench-answers"
BUCKET = "bench-answers"


def peak(work: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return top, result


def seed(services: Any, session_id: str, events: int, commands: int) -> None:
    from chalicelib.domain.audit import batch_digest
    from chalicelib.model.audit import CommandRecord, InputEvent

    rng = random.Random(7)
    now = 0.0
    for start in range(0, events, 10_000):
        flush = []
        for _ in range(min(10_000, events - start)):
            now += rng.uniform(0.008, 0.030)
            flush.append(InputEvent(round(now, 3), rng.choice(("move", "move", "move", "key", "click"))))
        services.audit._records.put_events(session_id, batch_digest([list(e) for e in flush]), flush, 10**9)
    for start in range(0, commands, 1_000):
        batch = [CommandRecord(f"cmd_{start:08d}{i:04d}", "2026-01-01T00:00:00.000Z", start + i,
                               f"grep -r 'pattern {start + i}' /var/log/app/*.log | tail -n 20",
                               "2026-01-01 00:00:00 INFO something happened\n...")
                 for i in range(min(1_000, commands - start))]
        services.audit._records.put_commands(session_id, f"{start:016x}", batch, 10**9, "2026-01-01T00:00:00.000Z")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--commands", type=int, default=40_000)
    args = parser.parse_args()
    use_bench_environment(TABLE, BUCKET, SECRET)

    import boto3
    from moto import mock_aws

    from chalicelib import aws, container
    from chalicelib.api import answers, shapes
    from chalicelib.domain.access import Caller
    from chalicelib.settings import get_settings
    from chalicelib.store import schema
    from chalicelib.store.settings_store import SettingsRepository
    from scripts import moto_speedups

    moto_speedups.install()
    with mock_aws():
        get_settings.cache_clear()
        aws.reset()
        container.use(None)
        schema.ensure(boto3.client("dynamodb"), boto3.client("s3"), TABLE, BUCKET)
        services = container.services()
        admin = Caller("admin", "admin", "admin", frozenset({"sessions.view_any", "sessions.ingest"}))
        SettingsRepository(services.table).update_recording({"enabled": True})
        session_id = services.sessions.start(admin, "rdp", "bench", None)
        assert session_id
        seed(services, session_id, args.events, args.commands)

        def baseline_events() -> Any:  # main's list_input_events
            every = [e for _, pack in services.audit._records.event_packs(session_id) for e in pack]
            found = sorted(every, key=lambda e: e[0])
            return answers.json_answer({"events": [shapes.input_event(*e) for e in found]}, "events.json")

        def streamed_events() -> Any:
            return answers.json_records("events", services.audit.events(admin, session_id),
                                        lambda e: shapes.input_event(*e), "events.json")

        def baseline_commands() -> Any:  # main's list_commands
            found = list(services.audit.commands(admin, session_id))
            return answers.json_answer({"commands": [shapes.command(c) for c in found]}, "commands.json")

        def streamed_commands() -> Any:
            return answers.json_records("commands", services.audit.commands(admin, session_id), shapes.command,
                                        "commands.json")

        rows = []
        for what, count, old, new in (("input events", args.events, baseline_events, streamed_events),
                                      ("commands", args.commands, baseline_commands, streamed_commands)):
            old_peak, old_answer = peak(old)
            new_peak, new_answer = peak(new)
            bodies = [_body(a) for a in (old_answer, new_answer)]
            assert bodies[0] == bodies[1], "the two paths must answer the same bytes"
            rows.append({"records": what, "count": count, "answer_bytes": len(bodies[0]),
                         "parked_in_s3": old_answer.status_code == 302, "baseline_peak": old_peak,
                         "streamed_peak": new_peak,
                         "ratio": round(old_peak / new_peak, 1)})
        print(json.dumps(rows, indent=1))


def _body(answer: Any) -> bytes:
    """The answer's bytes: inline, or the object its 302 points at."""
    from urllib.parse import unquote, urlparse

    import boto3

    if answer.status_code != 302:
        return answer.body.encode() if isinstance(answer.body, str) else bytes(answer.body)
    key = unquote(urlparse(answer.headers["Location"]).path).lstrip("/").removeprefix(BUCKET + "/")
    return bytes(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


if __name__ == "__main__":
    main()

"""Load: N concurrent RDP recorders appending chunks while readers list and play, every recording verified exact.

Starts its own local stack (scripts/local_stack.py: moto server + `chalice local`, loopback only), then:
1. baseline: one recorder alone (same chunk sizes), for the latency a chunk costs without contention;
2. load: `--recorders` recorders, each starting a session (POST /sessions/rdp-session), appending `--chunks` chunks
   (POST /sessions/{id}/recording/chunk, application/octet-stream, a few KB to `--chunk-kb` KB) and finalizing
   (POST /sessions/{id}/recording/finalize), while `--readers` readers list (GET /sessions?limit=2000) and play
   (GET /sessions/{id}/recording?redirect=false -> {"url", "expiresAt"}, then GET the url) finished recordings;
3. verify: every recording downloaded through its presigned URL, SHA-256 compared with what was sent.

Each recorder awaits a chunk's answer before sending the next, so the expected bytes are the send order (the
browser overlaps uploads; ordering under overlap is the chunk route's own tests' business, not this harness's).
Bounded: `--seconds` caps the whole run. Exits 1 on any error or corrupted recording, 2 when the recording routes
are missing from the running service's document.

    .venv/bin/python -m bench.load [--recorders 50] [--chunks 12] [--chunk-kb 256] [--readers 4] [--seconds 240]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRET = "load-secret-" + "x" * 32
CHUNK = "/sessions/{session_id}/recording/chunk"
FINALIZE = "/sessions/{session_id}/recording/finalize"
RECORDING = "/sessions/{session_id}/recording"
NEEDED = {(CHUNK, "post"), (FINALIZE, "post"), (RECORDING, "get"), ("/sessions", "get"),
          ("/sessions/rdp-session", "post")}


def token(user_id: str, role: str = "user") -> str:
    import jwt

    claims = {"userId": user_id, "username": user_id, "role": role, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@contextmanager
def local_stack() -> Iterator[str]:
    """The same local stack the HTTP tests start (tests/support/stack.py), on free loopback ports."""
    from tests.support.stack import running_stack

    with running_stack(TABLE_NAME="session-audit-load", BUCKET_NAME="session-audit-load", JWT_SECRET=SECRET) as stack:
        yield stack.base


def missing_routes(base: str) -> set[tuple[str, str]]:
    document = yaml.safe_load(requests.get(f"{base}/openapi.yaml", timeout=10).text)
    served = {(path, method) for path, item in document.get("paths", {}).items() for method in item}
    return NEEDED - served


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, name: str, call: Any, ok: tuple[int, ...] = (200,)) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response: requests.Response = call()
        except requests.RequestException as exc:
            with self.lock:
                self.errors[name].append(repr(exc))
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[name].append(elapsed)
            if response.status_code not in ok:
                self.errors[name].append(f"{response.status_code} {response.text[:200]}")
        return response if response.status_code in ok else None

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for name in sorted(set(self.latencies) | set(self.errors)):
            values = sorted(self.latencies.get(name, []))

            def pct(p: float, values: list[float] = values) -> float:
                return round(1000 * values[min(len(values) - 1, int(p * len(values)))], 1) if values else 0.0

            rows.append({"operation": name, "count": len(values), "errors": len(self.errors.get(name, [])),
                         "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0)})
        return rows


@dataclass
class Recording:
    session_id: str
    owner_token: str
    digest: str
    size: int


def record(base: str, stats: Stats, user: str, chunks: int, chunk_kb: int, rng: random.Random) -> Recording | None:
    owner = token(user)
    headers = {"Authorization": f"Bearer {owner}"}
    with requests.Session() as http:
        started = stats.timed("start", lambda: http.post(f"{base}/sessions/rdp-session", json={"connectionId": "load"},
                                                         headers=headers, timeout=30))
        if started is None or not started.json().get("sessionId"):
            return None
        session_id = started.json()["sessionId"]
        digest, size = hashlib.sha256(), 0
        for _ in range(chunks):
            body = rng.randbytes(rng.randint(4 * 1024, chunk_kb * 1024))
            sent = stats.timed("chunk", lambda body=body: http.post(
                f"{base}/sessions/{session_id}/recording/chunk", data=body,
                headers={**headers, "Content-Type": "application/octet-stream"}, timeout=60))
            if sent is not None:
                digest.update(body)
                size += len(body)
        stats.timed("finalize", lambda: http.post(f"{base}/sessions/{session_id}/recording/finalize",
                                                  headers=headers, timeout=60))
    return Recording(session_id, owner, digest.hexdigest(), size)


def play(base: str, stats: Stats, owner_token: str, session_id: str, name: str = "play") -> bytes | None:
    headers = {"Authorization": f"Bearer {owner_token}"}
    located = stats.timed(f"{name}:locate", lambda: requests.get(
        f"{base}/sessions/{session_id}/recording", params={"redirect": "false"}, headers=headers, timeout=30))
    if located is None:
        return None
    url = located.json()["url"]
    fetched = stats.timed(f"{name}:download", lambda: requests.get(url, timeout=120))
    return fetched.content if fetched is not None else None


def read_while(base: str, stats: Stats, done: threading.Event, finished: list[Recording], rng: random.Random) -> None:
    admin = {"Authorization": f"Bearer {token('load-admin', role='admin')}"}
    while not done.is_set():
        stats.timed("list", lambda: requests.get(f"{base}/sessions", params={"limit": "2000"}, headers=admin,
                                                 timeout=30))
        if finished:
            recording = rng.choice(finished)
            play(base, stats, recording.owner_token, recording.session_id)
        done.wait(0.05)


def wait_complete(base: str, recording: Recording, deadline: float) -> None:
    """Finalize may complete after its grace period: wait until the session says so (or the deadline)."""
    headers = {"Authorization": f"Bearer {recording.owner_token}"}
    while time.monotonic() < deadline:
        state = requests.get(f"{base}/sessions/{recording.session_id}", headers=headers, timeout=30).json()
        if state.get("recordingState") not in ("recording", "finalizing"):
            return
        time.sleep(0.5)


def run_phase(base: str, recorders: int, readers: int, chunks: int, chunk_kb: int, seed: int,
              deadline: float) -> dict[str, Any]:
    stats = Stats()
    finished: list[Recording] = []
    done = threading.Event()
    rngs = [random.Random(seed + i) for i in range(recorders + readers)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=recorders + readers) as pool:
        reading = [pool.submit(read_while, base, stats, done, finished, rngs[recorders + i]) for i in range(readers)]

        def one(i: int) -> None:
            recording = record(base, stats, f"load-user-{seed}-{i}", chunks, chunk_kb, rngs[i])
            if recording is not None:
                finished.append(recording)

        writing = [pool.submit(one, i) for i in range(recorders)]
        for future in writing:
            future.result(timeout=max(1.0, deadline - time.monotonic()))
        wall = time.perf_counter() - started
        done.set()
        for future in reading:
            future.result(timeout=60)
    corrupted = []
    for recording in finished:
        wait_complete(base, recording, deadline)
        body = play(base, stats, recording.owner_token, recording.session_id, name="verify")
        if body is None or hashlib.sha256(body).hexdigest() != recording.digest:
            corrupted.append({"session": recording.session_id, "sent": recording.size,
                              "got": None if body is None else len(body)})
    sent_bytes = sum(r.size for r in finished)
    chunk_count = len(stats.latencies["chunk"])
    return {
        "recorders": recorders, "readers": readers, "chunks_per_recorder": chunks, "wall_s": round(wall, 2),
        "chunks_per_s": round(chunk_count / wall, 1), "mib_per_s": round(sent_bytes / wall / 2**20, 2),
        "recordings": len(finished), "corrupted": corrupted,
        "errors": {name: errs[:5] for name, errs in stats.errors.items() if errs},
        "error_count": sum(len(errs) for errs in stats.errors.values()), "latency": stats.table(),
    }


def print_phase(title: str, result: dict[str, Any]) -> None:
    print(f"\n## {title}: {result['recorders']} recorders x {result['chunks_per_recorder']} chunks, "
          f"{result['readers']} readers")
    print(f"wall {result['wall_s']} s, {result['chunks_per_s']} chunks/s, {result['mib_per_s']} MiB/s, "
          f"{result['recordings']} recordings, {len(result['corrupted'])} corrupted, {result['error_count']} errors")
    print(f"{'operation':<18}{'count':>7}{'errors':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for row in result["latency"]:
        print(f"{row['operation']:<18}{row['count']:>7}{row['errors']:>8}{row['p50_ms']:>9}{row['p90_ms']:>9}"
              f"{row['p99_ms']:>9}{row['max_ms']:>9}")
    for name, errors in result["errors"].items():
        print(f"  {name}: {errors}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recorders", type=int, default=50)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--chunks", type=int, default=12)
    parser.add_argument("--chunk-kb", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=240, help="cap on the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.recorders <= 200 or not 0 <= args.readers <= 50 or not 1 <= args.chunks <= 1000:
        parser.error("keep it bounded: 1-200 recorders, 0-50 readers, 1-1000 chunks")
    deadline = time.monotonic() + args.seconds
    with local_stack() as base:
        missing = missing_routes(base)
        if missing:
            print("route missing: " + ", ".join(f"{m.upper()} {p}" for p, m in sorted(missing))
                  + " (the load test needs the recording routes)", file=sys.stderr)
            return 2
        admin = {"Authorization": f"Bearer {token('load-admin', role='admin')}"}
        requests.put(f"{base}/settings/recording", json={"enabled": True}, headers=admin, timeout=10).raise_for_status()
        baseline = run_phase(base, 1, 0, args.chunks, args.chunk_kb, seed=1, deadline=deadline)
        loaded = run_phase(base, args.recorders, args.readers, args.chunks, args.chunk_kb, seed=1000,
                           deadline=deadline)
    print_phase("baseline (one recorder alone)", baseline)
    print_phase("load", loaded)
    if args.json:
        args.json.write_text(json.dumps({"baseline": baseline, "load": loaded}, indent=2))
    failed = any(r["error_count"] or r["corrupted"] for r in (baseline, loaded))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

"""The local stack (`make run`, scripts/local_stack.py) as a process: how it stops, that it does not restart under
load, how it answers methods no route has, and where it puts S3 and DynamoDB."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

from tests.support.clients import ROOT, SECRET, make_token
from tests.support.stack import free_port, running_stack

ADMIN = make_token("admin", role="admin")
ALICE = make_token("alice")
ENDPOINTS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB")


# ---- processes, read from /proc (Linux) -----------------------------------------------------------------------

def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent that never reaps (PID 1 in a container may not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parents() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                found[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return found


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def listeners(port: int) -> set[int]:
    """The processes holding a listening TCP socket on 127.0.0.1:`port`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                    pids.add(int(entry.name))
    return pids


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def eventually(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())


# ---- the stack as a process of the test's own --------------------------------------------------------------------

@dataclass
class Started:
    process: subprocess.Popen[str]
    port: int
    moto_port: int
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def local_stack(**extra_env: str) -> Iterator[Started]:
    """scripts/local_stack.py as `make run` starts it (no test-only switch such as LOCAL_STACK_AUTORELOAD=0),
    in a session of its own so that a signal sent to it reaches it alone. Whatever it leaves behind is killed."""
    port, moto_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in (*ENDPOINTS, "LOCAL_STACK_AUTORELOAD")}
    env.update({"PORT": str(port), "MOTO_PORT": str(moto_port), "JWT_SECRET": SECRET, "SEED_DEMO": "0",
                "TABLE_NAME": "session-audit-hardening", "BUCKET_NAME": "session-audit-hardening",
                "PYTHONUNBUFFERED": "1", **extra_env})
    process = subprocess.Popen([sys.executable, "scripts/local_stack.py"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    started = Started(process, port, moto_port)
    everything: set[int] = set()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            started.lines.append(line)
            if line.strip() == "READY":
                break
        else:
            pytest.fail("the local stack did not start:\n" + "".join(started.lines))
        threading.Thread(target=lambda: [started.lines.append(x) for x in process.stdout],
                         daemon=True).start()
        everything = descendants(process.pid)
        yield started
    finally:
        for pid in everything | descendants(process.pid) | {process.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server of the test's own, standing for an emulator the stack is pointed at."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "scripts.moto_server", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        assert eventually(lambda: not refuses(port), 30), "moto did not start"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                        aws_secret_access_key="local")


def _buckets(endpoint: str) -> list[str]:
    return [b["Name"] for b in _client("s3", endpoint).list_buckets()["Buckets"]]


def _tables(endpoint: str) -> list[str]:
    tables: list[str] = _client("dynamodb", endpoint).list_tables()["TableNames"]
    return tables


# ---- stopping ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_to_the_stack_alone_stops_everything_it_started_and_frees_the_port(sig):
    """With chalice's reloader (`make dev`) the server is a grandchild: stopping only the child left it serving,
    and the next `make run` failed on the port."""
    with local_stack(LOCAL_STACK_AUTORELOAD="1") as stack:
        started = descendants(stack.process.pid)
        serving = listeners(stack.port)
        assert serving and serving <= started, (serving, started)
        stack.process.send_signal(sig)  # to the parent only, as `kill <pid>` or a process manager would
        assert stack.process.wait(timeout=20) == 0
        assert eventually(lambda: not any(_alive(pid) for pid in started), 10), \
            [pid for pid in started if _alive(pid)]
        assert not listeners(stack.port) and refuses(stack.port)
        assert not listeners(stack.moto_port)


# ---- no reload -------------------------------------------------------------------------------------------------

def test_a_file_written_into_the_checkout_does_not_restart_the_server_under_make_run():
    """A test tool's cache (.hypothesis/) written while the stack serves used to restart `chalice local` and
    refuse the requests in flight."""
    probe = ROOT / ".hypothesis" / f"probe-{uuid.uuid4().hex}"
    with local_stack() as stack:
        server = listeners(stack.port)
        assert len(server) == 1
        probe.parent.mkdir(exist_ok=True)
        try:
            probe.write_text("written by a tool while the stack serves")
            (ROOT / "app.py").touch()  # even the app's own source
            failures = []
            deadline = time.monotonic() + 4  # chalice's stat watcher looks every second
            while time.monotonic() < deadline:
                try:
                    answered = requests.get(f"{stack.base}/sessions", headers={"Authorization": f"Bearer {ADMIN}"},
                                            timeout=5)
                    if answered.status_code != 200:
                        failures.append(answered.status_code)
                except requests.ConnectionError as exc:
                    failures.append(repr(exc))
                time.sleep(0.05)
        finally:
            probe.unlink(missing_ok=True)
        assert failures == []
        assert listeners(stack.port) == server
        assert not any("Restarting" in line for line in stack.lines), stack.lines


# ---- unknown methods -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "FOO"])
def test_a_method_the_server_has_no_handler_for_gets_json_not_the_stdlibs_html_501(stack, method):
    """On a known path the app's 405, as PATCH gets; on a path no route has, the 404 every method gets there."""
    known = requests.request(method, f"{stack.base}/sessions", headers={"Authorization": f"Bearer {ADMIN}"},
                             timeout=10)
    assert known.status_code == 405, known.text
    assert known.headers["Content-Type"] == "application/json"
    assert known.json() == {"error": f"Unsupported method: {method}"}
    assert ADMIN not in known.text
    patch = requests.patch(f"{stack.base}/sessions", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
    assert (patch.status_code, patch.json()) == (405, {"error": "Unsupported method: PATCH"})

    unknown = requests.request(method, f"{stack.base}/no-such-route", headers={"Authorization": f"Bearer {ADMIN}"},
                               timeout=10)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json() == {"error": "no such route or method"}
    assert ADMIN not in unknown.text


# ---- endpoints -------------------------------------------------------------------------------------------------

def test_s3_on_another_endpoint_gets_the_bucket_and_the_recordings_while_dynamodb_stays_on_the_stacks_moto():
    own_port = free_port()
    with moto_server() as external, running_stack(AWS_ENDPOINT_URL_S3=external, MOTO_PORT=str(own_port)) as stack:
        own = f"http://127.0.0.1:{own_port}"
        assert stack.storage == external
        assert _buckets(external) == ["session-audit-http"] and _tables(external) == []
        assert _tables(own) == ["session-audit-http"] and _buckets(own) == []

        assert requests.put(f"{stack.base}/settings/recording", json={"enabled": True},
                            headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10).status_code == 200
        session_id = requests.post(f"{stack.base}/sessions", json={"protocol": "ssh", "connectionId": "web"},
                                   headers={"Authorization": f"Bearer {ALICE}"}, timeout=10).json()["sessionId"]
        cast = b'{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "hello\\r\\n"]\n'
        # the SSH proxy writes the cast, with the gateway's service token
        assert requests.post(f"{stack.base}/sessions/{session_id}/recording/chunk", data=cast, timeout=10,
                             headers={"Authorization": f"Bearer {ADMIN}",
                                      "Content-Type": "application/x-asciicast"}).status_code == 200
        assert requests.post(f"{stack.base}/sessions/{session_id}/recording/finalize", timeout=30,
                             headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200

        stored = _client("s3", external).get_object(Bucket="session-audit-http", Key=f"recordings/{session_id}.cast")
        assert stored["Body"].read() == cast
        url = requests.get(f"{stack.base}/sessions/{session_id}/recording?redirect=false",
                           cookies={"gatwy_token": ALICE}, timeout=10).json()["url"]
        assert url.startswith(external + "/")
        assert requests.get(url, timeout=10).content == cast
        assert _buckets(own) == []


def test_both_services_elsewhere_start_no_moto_and_the_printed_urls_name_them():
    with moto_server() as s3, moto_server() as dynamodb, \
            local_stack(AWS_ENDPOINT_URL_S3=s3, AWS_ENDPOINT_URL_DYNAMODB=dynamodb) as stack:
        assert refuses(stack.moto_port)
        assert _buckets(s3) == ["session-audit-hardening"] and _tables(s3) == []
        assert _tables(dynamodb) == ["session-audit-hardening"] and _buckets(dynamodb) == []
        up = next(line for line in stack.lines if line.startswith("session-audit is up"))
        assert f"S3: {s3}" in up and f"DynamoDB: {dynamodb}" in up


def test_a_presigned_url_life_over_sigv4s_seven_days_stops_the_stack_before_it_starts():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINTS}
    env.update({"PORT": str(port), "MOTO_PORT": str(free_port()), "JWT_SECRET": SECRET,
                "PRESIGN_TTL_SECONDS": "604801"})
    process = subprocess.Popen([sys.executable, "scripts/local_stack.py"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # it started serving instead
        os.killpg(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode != 0 and "READY" not in out
    assert "configuration error: PRESIGN_TTL_SECONDS must be at most 604800" in err
    assert refuses(port)

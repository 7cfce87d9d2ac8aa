"""`make run`: the whole service on one machine.

Starts moto's server on loopback (unless AWS_ENDPOINT_URL, or both AWS_ENDPOINT_URL_S3 and
AWS_ENDPOINT_URL_DYNAMODB, name other emulators), creates the table and bucket from infra/resources.yaml, serves
the API with `chalice local`, runs the app's scheduled functions on a short period, since `chalice local` never
fires them, and seeds the viewer's demo into an empty table (scripts/seed_demo.py; SEED_DEMO=0 skips it).
Ctrl-C, SIGTERM or SIGHUP stops everything it started, grandchildren included.

The server does not reload when files change (a test tool's cache written into the checkout would restart it and
drop the requests in flight); LOCAL_STACK_AUTORELOAD=1 (`make dev`) turns chalice's reloader on.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV_SECRET_FILE = ROOT / ".local" / "jwt-secret"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _wait_http(url: str, timeout: float, process: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{url}: the process serving it exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (our own loopback URL)
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def _dev_secret() -> str:
    if DEV_SECRET_FILE.exists():
        return DEV_SECRET_FILE.read_text().strip()
    DEV_SECRET_FILE.parent.mkdir(exist_ok=True)
    secret = secrets.token_urlsafe(32)
    DEV_SECRET_FILE.write_text(secret)
    return secret


def admin_token(secret: str, hours: int = 24 * 30) -> str:
    import jwt

    claims = {"userId": "admin", "username": "admin", "role": "admin", "exp": int(time.time()) + hours * 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


def environment() -> dict[str, str]:
    env = dict(os.environ)
    port = env.setdefault("PORT", "8000")
    env.setdefault("MOTO_PORT", "5000")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env.setdefault("TABLE_NAME", "session-audit-local")
    env.setdefault("BUCKET_NAME", "session-audit-local")
    env.setdefault("S3_ADDRESSING_STYLE", "path")
    env.setdefault("PLAYBACK_ORIGINS", f"http://127.0.0.1:{port},http://localhost:{port}")
    env.setdefault("SCHEDULE_PERIOD_SECONDS", "10")
    # no Lambda to invoke: the purge worker runs in a thread of the API process; the settle window (requests
    # that may still write into what a purge hid) is short here, so a purge is done within seconds
    env.setdefault("WORKER_INVOKE", "thread")
    env.setdefault("PURGE_SETTLE_SECONDS", "5")
    env.setdefault("SERVE_TEST_PAGES", "1")  # the browser tests' page (viewer/browser-check.html): local only
    env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    if not env.get("JWT_SECRET"):
        env["JWT_SECRET"] = _dev_secret()
        env["SESSION_AUDIT_PRINT_TOKEN"] = "1"  # noqa: S105  (a flag, not a secret)
    return env


def check_settings(env: dict[str, str]) -> None:
    """Refuse to start on a setting the service would refuse on its first request (chalicelib/settings.py)."""
    from chalicelib.settings import ConfigError, load_settings

    try:
        load_settings(env)
    except ConfigError as exc:
        raise SystemExit(f"configuration error: {exc}") from None


def missing_endpoints(env: dict[str, str]) -> list[str]:
    """The services of the stack that no endpoint variable points elsewhere: moto serves those.

    boto3's own variables: AWS_ENDPOINT_URL_<SERVICE> wins over AWS_ENDPOINT_URL for that service, so S3 may be
    one emulator (one that checks signatures, say) and DynamoDB another."""
    return [name for name in ENDPOINT_VARIABLES if not env.get(name) and not env.get("AWS_ENDPOINT_URL")]


def pin_endpoints(env: dict[str, str], moto_url: str | None) -> None:
    """Name each service's endpoint explicitly, so the API, the schedules and the printed URLs agree."""
    for name in ENDPOINT_VARIABLES:
        env[name] = env.get(name) or env.get("AWS_ENDPOINT_URL") or moto_url or ""
    if moto_url and not env.get("AWS_ENDPOINT_URL"):
        env["AWS_ENDPOINT_URL"] = moto_url  # any other service a code path reaches stays local too


def create_resources(env: dict[str, str]) -> None:
    import boto3

    from chalicelib.store import schema

    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    origins = tuple(o.strip() for o in env["PLAYBACK_ORIGINS"].split(",") if o.strip())
    schema.ensure(
        session.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"]),
        session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"]),
        env["TABLE_NAME"],
        env["BUCKET_NAME"],
        origins,
    )


def seed_demo(base: str, secret: str) -> None:
    """A demo for the viewer when the table holds no session (SEED_DEMO=0 skips it): scripts/seed_demo.py."""
    from scripts.seed_demo import seed

    started = time.monotonic()
    try:
        made = seed(base, admin_token(secret, hours=1))
    except (Exception, SystemExit) as exc:  # a failed demo must not stop the stack
        print(f"the demo was not seeded: {exc}", file=sys.stderr, flush=True)
        return
    if made:
        print(f"demo seeded: {len(made)} sessions in {time.monotonic() - started:.1f} s", flush=True)


def run_schedules(stop: threading.Event, period: float) -> None:
    """Fire every scheduled function of the app, as EventBridge would, every `period` seconds."""
    from chalice.app import CloudWatchEventConfig, ScheduledEventConfig

    import app as app_module
    from app import app

    handlers = [
        getattr(app_module, source.name)
        for source in app.event_sources
        if isinstance(source, (CloudWatchEventConfig, ScheduledEventConfig))
    ]
    while not stop.wait(period):
        for handler in handlers:
            event = {"version": "0", "id": secrets.token_hex(16), "account": "000000000000",
                     "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), "source": "aws.events",
                     "detail-type": "Scheduled Event", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "resources": [], "detail": {}}
            try:
                handler(event, None)
            except Exception as exc:  # a failing sweep must not stop the local stack
                print(f"scheduled {getattr(handler, '__name__', handler)} failed: {exc!r}", file=sys.stderr)


class Children:
    """The processes the stack started, each the leader of a process group of its own.

    `chalice local` with its reloader serves from a grandchild: stopping only the child would leave that serving
    the port (and the next `make run` failing), so each whole group is stopped. Their own groups, not ours: ours
    is the terminal's (make, the shell), which a signal to the whole group would stop too."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def start(self, command: list[str], env: dict[str, str], **options: Any) -> subprocess.Popen[Any]:
        child = subprocess.Popen(command, cwd=ROOT, env=env, process_group=0, **options)
        self.started.append(child)
        return child

    def all_running(self) -> bool:
        return all(child.poll() is None for child in self.started)

    def stop(self, timeout: float = 5.0) -> None:
        for child in self.started:
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.started:
            while _group_alive(child.pid) and time.monotonic() < deadline:
                child.poll()  # reaps the leader; its own children go to init
                time.sleep(0.05)
            if _group_alive(child.pid):
                _signal_group(child.pid, signal.SIGKILL)
            child.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Stopped(Exception):
    """A stop signal arrived (Ctrl-C, SIGTERM, SIGHUP)."""


def _on_stop_signal(*_: Any) -> None:
    raise Stopped


def start_api(children: Children, env: dict[str, str]) -> subprocess.Popen[Any]:
    # chalice local, answering unknown routes and methods as the deployed gateway does (scripts/chalice_local.py)
    command = [sys.executable, str(ROOT / "scripts" / "chalice_local.py"), "local", "--stage", "local",
               "--host", "127.0.0.1", "--port", env["PORT"]]
    if env.get("LOCAL_STACK_AUTORELOAD", "0") != "1":
        # any file written under the checkout (.hypothesis/, .pytest_cache/, __pycache__/) would restart the
        # server and refuse connections while it comes back
        command.append("--no-autoreload")
    return children.start(command, env)


def serve(children: Children, env: dict[str, str]) -> int:
    if missing_endpoints(env):
        moto_url = f"http://127.0.0.1:{env['MOTO_PORT']}"
        moto = children.start([sys.executable, "-m", "scripts.moto_server", "--port", env["MOTO_PORT"]], env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_http(moto_url + "/moto-api/", 30, moto)
        pin_endpoints(env, moto_url)
    else:
        pin_endpoints(env, None)
    create_resources(env)
    os.environ.update(env)
    api = start_api(children, env)
    base = f"http://127.0.0.1:{env['PORT']}"
    _wait_http(base + "/openapi.yaml", 60, api)
    stop = threading.Event()
    threading.Thread(target=run_schedules, args=(stop, float(env["SCHEDULE_PERIOD_SECONDS"])), daemon=True).start()
    print(f"session-audit is up: {base}  (S3: {env['AWS_ENDPOINT_URL_S3']}, "
          f"DynamoDB: {env['AWS_ENDPOINT_URL_DYNAMODB']})", flush=True)
    if env.get("SEED_DEMO", "1") != "0":
        seed_demo(base, env["JWT_SECRET"])
    print(f"viewer: {base}/  (sign in by pasting a token)", flush=True)
    if env.get("SESSION_AUDIT_PRINT_TOKEN"):
        print(f"dev JWT_SECRET (kept in {DEV_SECRET_FILE.relative_to(ROOT)}): {env['JWT_SECRET']}")
        print(f"admin token: {admin_token(env['JWT_SECRET'])}")
        print(f"try: curl -H \"Authorization: Bearer $TOKEN\" {base}/sessions", flush=True)
    print("READY", flush=True)
    while children.all_running():
        time.sleep(0.5)
    return 1


def main() -> int:
    env = environment()
    check_settings(env)
    children = Children()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_stop_signal)
    try:
        return serve(children, env)
    except Stopped:
        return 0
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
        children.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

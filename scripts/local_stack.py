"""`make run`: the whole service on one machine.

Starts moto's server on loopback (unless AWS_ENDPOINT_URL names another emulator), creates the table and
bucket from infra/resources.yaml, serves the API with `chalice local`, runs the app's scheduled functions
on a short period, since `chalice local` never fires them, and seeds the viewer's demo into an empty table
(scripts/seed_demo.py; SEED_DEMO=0 skips it). Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

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


def create_resources(env: dict[str, str]) -> None:
    import boto3

    from chalicelib.store import schema

    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    endpoint = env["AWS_ENDPOINT_URL"]
    origins = tuple(o.strip() for o in env["PLAYBACK_ORIGINS"].split(",") if o.strip())
    schema.ensure(
        session.client("dynamodb", endpoint_url=endpoint),
        session.client("s3", endpoint_url=endpoint),
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


def main() -> int:
    env = environment()
    children: list[subprocess.Popen[Any]] = []

    def stop_all(*_: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()

    def on_sigterm(*_: Any) -> None:
        stop_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        if not env.get("AWS_ENDPOINT_URL"):
            env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{env['MOTO_PORT']}"
            moto = subprocess.Popen(
                [sys.executable, "-m", "scripts.moto_server", "--port", env["MOTO_PORT"]],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            children.append(moto)
            _wait_http(env["AWS_ENDPOINT_URL"] + "/moto-api/", 30, moto)
        create_resources(env)
        os.environ.update(env)
        # chalice local, answering unknown routes as the deployed gateway does (scripts/chalice_local.py)
        command = [sys.executable, str(ROOT / "scripts" / "chalice_local.py"), "local", "--stage", "local",
                   "--host", "127.0.0.1", "--port", env["PORT"]]
        if env.get("LOCAL_STACK_AUTORELOAD", "1") == "0":
            # any file written under the project (.hypothesis/, .pytest_cache/, __pycache__/) would restart the
            # server mid-test and refuse connections while it comes back
            command.append("--no-autoreload")
        api = subprocess.Popen(command, cwd=ROOT, env=env)
        children.append(api)
        base = f"http://127.0.0.1:{env['PORT']}"
        _wait_http(base + "/openapi.yaml", 60, api)
        stop = threading.Event()
        threading.Thread(
            target=run_schedules, args=(stop, float(env["SCHEDULE_PERIOD_SECONDS"])), daemon=True
        ).start()
        print(f"session-audit is up: {base}  (storage: {env['AWS_ENDPOINT_URL']})", flush=True)
        if env.get("SEED_DEMO", "1") != "0":
            seed_demo(base, env["JWT_SECRET"])
        print(f"viewer: {base}/  (sign in by pasting a token)", flush=True)
        if env.get("SESSION_AUDIT_PRINT_TOKEN"):
            print(f"dev JWT_SECRET (kept in {DEV_SECRET_FILE.relative_to(ROOT)}): {env['JWT_SECRET']}")
            print(f"admin token: {admin_token(env['JWT_SECRET'])}")
            print(f"try: curl -H \"Authorization: Bearer $TOKEN\" {base}/sessions", flush=True)
        print("READY", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

"""`make http-localstack`: run a command (the HTTP suite) with S3 on LocalStack's native S3, which checks presigned
URLs' signatures (moto accepts expired, tampered and re-scoped ones), and DynamoDB on the stack's own moto.

    python scripts/localstack_s3.py .venv-localstack/bin/python -- python -m pytest -m http

LocalStack runs on the host (no Docker) from its own venv, on a free loopback port, with S3 only and nothing that
reaches outside (no DNS server, no analytics, no certificate download); its data lives in a temporary folder. The
command gets HTTP_SUITE_S3_ENDPOINT, which the tests' `stack` fixture (tests/http/conftest.py) turns into the
stack's AWS_ENDPOINT_URL_S3, with LocalStack's credentials (`test`/`test`: it checks signatures against the
secret `test`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_s3(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"LocalStack exited with {process.returncode} before it served S3")
        try:
            with urllib.request.urlopen(url + "/_localstack/health", timeout=2) as answer:  # noqa: S310 (loopback)
                if json.load(answer).get("services", {}).get("s3") in ("available", "running"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"LocalStack's S3 did not answer within {timeout:.0f} s")


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1:
        raise SystemExit(__doc__)
    localstack_python, command = argv[0], argv[2:]
    if os.sep in localstack_python:  # LocalStack runs in its data folder: a relative path would not be found
        localstack_python = os.path.abspath(localstack_python)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="localstack-s3-") as data:
        env = {**os.environ, "SERVICES": "s3", "S3_SKIP_SIGNATURE_VALIDATION": "0",
               "GATEWAY_LISTEN": f"127.0.0.1:{port}", "LOCALSTACK_HOST": f"127.0.0.1:{port}",
               "GATEWAY_SERVER": "hypercorn",  # the default (twisted) needs service_identity, which it does not pull
               "DNS_ADDRESS": "0", "DISABLE_EVENTS": "1", "SKIP_SSL_CERT_DOWNLOAD": "1", "PERSISTENCE": "0",
               "FILESYSTEM_ROOT": data}
        with open(os.path.join(data, "localstack.log"), "wb") as log:
            return run_beside(subprocess.Popen([localstack_python, "-m", "localstack.runtime.main"], cwd=data,
                                               env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0),
                              url, command)


def run_beside(localstack: subprocess.Popen[bytes], url: str, command: list[str]) -> int:
    try:
        wait_for_s3(url, localstack)
        print(f"LocalStack S3 (signatures checked): {url}", flush=True)
        return subprocess.call(command, env={**os.environ, "HTTP_SUITE_S3_ENDPOINT": url})
    finally:
        os.killpg(localstack.pid, signal.SIGTERM)
        try:
            localstack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(localstack.pid, signal.SIGKILL)
            localstack.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

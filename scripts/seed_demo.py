"""A demo for the viewer, seeded through the HTTP API when the table holds no session (`make run` calls it).

    .venv/bin/python -m scripts.seed_demo http://127.0.0.1:8000 <admin token>

Everything is generated here or read from the repository, nothing is downloaded: an RDP recording (the 10 s WebM
that Chromium's MediaRecorder made for tests/fixtures/webm, uploaded in the chunks the recorder cut) with input
events, two SSH sessions with generated asciinema casts and their commands, and an SFTP file session. The
sessions are started by the admin token on behalf of alice, bob and carol, as the gateway's proxy starts them.
The recording switch is turned on for the seeding and put back as it was.
"""

from __future__ import annotations

import json
import random
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WEBM_DIR = ROOT / "tests" / "fixtures" / "webm"
DEMO_WEBM = "vp9-160x120-noise-10s-5000ms.webm"


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
             content_type: str = "application/json") -> Any:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = content_type
        # the local stack's own loopback URL
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"seeding the demo: {method} {path} answered {exc.code}: {exc.read().decode()}") from exc
        return json.loads(text) if text else None


def webm_chunks() -> list[bytes]:
    data = (WEBM_DIR / DEMO_WEBM).read_bytes()
    sizes = json.loads((WEBM_DIR / "fixtures.json").read_text())["files"][DEMO_WEBM]["chunkSizes"]
    chunks, at = [], 0
    for size in sizes:
        chunks.append(data[at:at + size])
        at += size
    return chunks


def input_events(seconds: float, rng: random.Random) -> list[dict[str, Any]]:
    """What a user does on a desktop: bursts of mouse moves with clicks, a stretch of typing, a quiet moment."""
    events: list[dict[str, Any]] = []
    for start, end, kind, rate in ((0.2, 2.6, "move", 40), (2.6, 3.0, "click", 5), (3.2, 5.8, "key", 9),
                                   (6.0, 6.5, "click", 4), (7.6, 9.8, "move", 25), (8.9, 9.3, "click", 5)):
        for _ in range(int((end - start) * rate)):
            events.append({"elapsed": round(rng.uniform(start, end), 3), "type": kind})
    return sorted((e for e in events if e["elapsed"] < seconds), key=lambda e: e["elapsed"])


PROMPT = "\x1b[32mbob@web-1\x1b[0m:\x1b[34m~\x1b[0m$ "
SSH_SCRIPTS = {
    "bob": [
        ("uptime", " 10:42:01 up 31 days,  2:17,  1 user,  load average: 0.08, 0.05, 0.01"),
        ("ls -la /var/log/nginx", "total 2840\ndrwxr-xr-x  2 root adm    4096 Jan  8 06:25 .\n"
                                  "-rw-r-----  1 www  adm 1877654 Jan  8 10:41 access.log\n"
                                  "-rw-r-----  1 www  adm   12204 Jan  8 09:58 error.log"),
        ("tail -n 3 /var/log/nginx/error.log", "2024/01/08 09:58:12 [warn] upstream response is buffered\n"
                                               "2024/01/08 09:58:40 [error] connect() failed (111: refused)\n"
                                               "2024/01/08 09:58:41 [error] no live upstreams"),
        ("sudo systemctl restart app", "[sudo] password for bob: "),
        ("systemctl is-active app", "active"),
        ("curl -sI http://localhost/ | head -1", "HTTP/1.1 200 OK"),
        ("exit", "logout"),
    ],
    "carol": [
        ("psql -c 'select count(*) from orders'", " count\n-------\n 48213\n(1 row)"),
        ("df -h /var/lib/postgresql", "Filesystem  Size  Used Avail Use% Mounted on\n"
                                      "/dev/sdb1   200G  121G   79G  61% /var"),
        ("exit", "logout"),
    ],
}


def ssh_cast(user: str, host: str, title: str, started: float) -> tuple[str, list[dict[str, Any]]]:
    """An asciinema v2 cast of `user` typing SSH_SCRIPTS[user], and the command log the proxy would write."""
    prompt = PROMPT.replace("bob", user).replace("web-1", host)
    lines = [json.dumps({"version": 2, "width": 80, "height": 20, "timestamp": int(started), "title": title})]
    commands = []
    at = 0.4
    lines.append(json.dumps([at, "o", f"Welcome to {host}\r\n\r\n{prompt}"]))
    for command, output in SSH_SCRIPTS[user]:
        at += 1.2
        started_typing = at
        for char in command:  # typed, one echo per key
            at += 0.06
            lines.append(json.dumps([round(at, 3), "o", char]))
        at += 0.3
        lines.append(json.dumps([round(at, 3), "o", "\r\n" + output.replace("\n", "\r\n") + "\r\n" + prompt]))
        preview = output if len(output) <= 200 else output[:197] + "..."
        commands.append({"elapsed": round(started_typing, 3), "command": command, "output_preview": preview,
                         "timestamp": iso(started + started_typing)})
    return "\n".join(lines) + "\n", commands


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_events(now: datetime) -> list[dict[str, Any]]:
    steps = [("browse", "/srv/share", None), ("browse", "/srv/share/reports", None),
             ("download", "/srv/share/reports/q4-summary.pdf", {"size": 482113}),
             ("mkdir", "/srv/share/incoming/alice", None),
             ("upload", "/srv/share/incoming/alice/budget-2024.xlsx", {"size": 96512}),
             ("rename", "/srv/share/incoming/alice/budget-2024.xlsx", "to budget-2024-final.xlsx"),
             ("chmod", "/srv/share/incoming/alice/budget-2024-final.xlsx", "0640"),
             ("copy", "/srv/share/reports/q4-summary.pdf", "to /srv/share/incoming/alice/q4-summary.pdf"),
             ("delete", "/srv/share/incoming/alice/old-notes.txt", None)]
    events = []
    for n, (action, path, detail) in enumerate(steps):
        event: dict[str, Any] = {"action": action, "path": path,
                                 "timestamp": (now - timedelta(seconds=90 - 9 * n)).isoformat(timespec="milliseconds")
                                 .replace("+00:00", "Z")}
        if detail is not None:
            event["detail"] = detail
        events.append(event)
    return events


def wait_complete(api: Api, session_id: str, timeout: float = 30) -> None:
    """Until the recording plays (finalize may leave its last step to the sweep the local stack runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.call("GET", f"/sessions/{session_id}").get("hasRecording"):
            return
        time.sleep(0.3)


def seed(base: str, token: str, rng: random.Random | None = None) -> list[str]:
    """The demo's session ids, or [] when the table already holds sessions (nothing is written then)."""
    rng = rng or random.Random(8)
    api = Api(base, token)
    if api.call("GET", "/sessions?limit=1")["sessions"]:
        return []
    was_enabled = api.call("GET", "/settings/recording")["enabled"]
    api.call("PUT", "/settings/recording", {"enabled": True})
    try:
        for connection_id, name in (("win-desktop", "Finance desktop"), ("web-1", "Web server"),
                                    ("db-1", "Database"), ("files-1", "File share")):
            api.call("PUT", f"/connections/{connection_id}", {"name": name, "recordingEnabled": True})
        made = [seed_ssh(api, "carol", "db-1", "Database"), seed_rdp(api, rng),
                seed_ssh(api, "bob", "web-1", "Web server")]
        made.append(seed_files(api))
    finally:
        if not was_enabled:
            api.call("PUT", "/settings/recording", {"enabled": False})
    for session_id in made[:-1]:
        wait_complete(api, session_id)
    return made


def seed_rdp(api: Api, rng: random.Random) -> str:
    started = api.call("POST", "/sessions/rdp-session",
                       {"connectionId": "win-desktop", "userId": "alice", "username": "alice"})
    session_id: str = started["sessionId"]
    for chunk in webm_chunks():
        api.call("POST", f"/sessions/{session_id}/recording/chunk", raw=chunk,
                 content_type="application/octet-stream")
    api.call("POST", f"/sessions/{session_id}/recording/events", input_events(10.0, rng))
    api.call("POST", f"/sessions/{session_id}/recording/finalize")
    return session_id


def seed_ssh(api: Api, user: str, connection_id: str, title: str) -> str:
    started = api.call("POST", "/sessions", {"protocol": "ssh", "connectionId": connection_id,
                                             "userId": user, "username": user})
    session_id: str = started["sessionId"]
    cast, commands = ssh_cast(user, connection_id, title, time.time())
    raw = cast.encode()
    middle = raw.index(b"\n", len(raw) // 2) + 1  # two chunks, cut at a line end as the proxy flushes
    for chunk in (raw[:middle], raw[middle:]):
        api.call("POST", f"/sessions/{session_id}/recording/chunk", raw=chunk, content_type="application/x-asciicast")
    api.call("POST", f"/sessions/{session_id}/commands", commands)
    api.call("POST", f"/sessions/{session_id}/recording/finalize")
    return session_id


def seed_files(api: Api) -> str:
    session_id = "demo-sftp-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    api.call("POST", f"/file-sessions/{session_id}/events",
             {"protocol": "sftp", "connectionId": "files-1", "userId": "alice", "username": "alice",
              "events": file_events(datetime.now(UTC))})
    return session_id


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    made = seed(argv[1], argv[2])
    print(f"demo seeded: {len(made)} sessions" if made else "the table holds sessions: no demo seeded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

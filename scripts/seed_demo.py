"""A demo for the viewer, seeded through the HTTP API when the table holds no session (`make run` calls it).

    .venv/bin/python -m scripts.seed_demo http://127.0.0.1:8000 <admin token>

A week of history (docs/viewer.md): SSH and Telnet sessions of minutes to hours with generated asciinema casts
and their command logs, RDP and VNC sessions with the WebM recordings Chromium's MediaRecorder made for
tests/fixtures/webm (uploaded in the chunks the recorder cut) and input events, and SFTP, SMB and FTP file
sessions. Nothing is downloaded. The admin token writes them as the gateway's ingest token does, on behalf of
each user, back-filled with `startedAt` / `endedAt`: each session lasts exactly as long as its recording (a
cast's last timestamp, a WebM's recorded seconds). The newest are alice's RDP session, bob's and carol's SSH
sessions and alice's SFTP session, as before. The recording switch is turned on for the seeding and put back.
"""

from __future__ import annotations

import json
import random
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WEBM_DIR = ROOT / "tests" / "fixtures" / "webm"
DEMO_WEBM = "vp9-160x120-noise-10s-5000ms.webm"
SMALL_WEBM = "vp9-64x48-5s-1000ms.webm"
MINUTE, HOUR, DAY = 60, 3600, 86400


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


def webm_chunks(name: str = DEMO_WEBM) -> tuple[list[bytes], float]:
    """The fixture's chunks as the recorder cut them, and the seconds it recorded."""
    data = (WEBM_DIR / name).read_bytes()
    described = json.loads((WEBM_DIR / "fixtures.json").read_text())["files"][name]
    chunks, at = [], 0
    for size in described["chunkSizes"]:
        chunks.append(data[at:at + size])
        at += size
    return chunks, float(described["options"]["seconds"])


def input_events(seconds: float, rng: random.Random) -> list[dict[str, Any]]:
    """What a user does on a desktop: bursts of mouse moves with clicks, a stretch of typing, a quiet moment."""
    events: list[dict[str, Any]] = []
    for start, end, kind, rate in ((0.2, 2.6, "move", 40), (2.6, 3.0, "click", 5), (3.2, 5.8, "key", 9),
                                   (6.0, 6.5, "click", 4), (7.6, 9.8, "move", 25), (8.9, 9.3, "click", 5)):
        for _ in range(int((end - start) * rate)):
            events.append({"elapsed": round(rng.uniform(start, end), 3), "type": kind})
    return sorted((e for e in events if e["elapsed"] < seconds), key=lambda e: e["elapsed"])


@dataclass(frozen=True)
class Step:
    """A command typed after `think` seconds; its output comes `runs` seconds after Enter (a long run's lines
    spread over it, as a progress log or a `tail -f` prints)."""

    command: str
    output: str
    think: float = 1.2
    runs: float = 0.3


@dataclass(frozen=True)
class Script:
    host: str
    title: str
    prompt: str  # the shell's prompt, "{user}" for the user
    steps: tuple[Step, ...]


SHELL = "\x1b[32m{user}@%s\x1b[0m:\x1b[34m~\x1b[0m$ "
LOG = ("10.4.2.17 - - [08/Jan/2024:10:41:5%d +0000] \"GET /api/orders?page=%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0\"")
SCRIPTS = {
    "bob": Script("web-1", "Web server", SHELL % "web-1", (
        Step("uptime", " 10:42:01 up 31 days,  2:17,  1 user,  load average: 0.08, 0.05, 0.01", think=8),
        Step("ls -la /var/log/nginx", "total 2840\ndrwxr-xr-x  2 root adm    4096 Jan  8 06:25 .\n"
                                      "-rw-r-----  1 www  adm 1877654 Jan  8 10:41 access.log\n"
                                      "-rw-r-----  1 www  adm   12204 Jan  8 09:58 error.log", think=20),
        Step("tail -n 3 /var/log/nginx/error.log", "2024/01/08 09:58:12 [warn] upstream response is buffered\n"
                                                   "2024/01/08 09:58:40 [error] connect() failed (111: refused)\n"
                                                   "2024/01/08 09:58:41 [error] no live upstreams", think=35),
        Step("sudo systemctl restart app", "[sudo] password for bob: ", think=70, runs=0.5),
        Step("systemctl is-active app", "active", think=25),
        Step("curl -sI http://localhost/ | head -1", "HTTP/1.1 200 OK", think=12, runs=0.6),
        Step("exit", "logout", think=30),
    )),
    "carol": Script("db-1", "Database", SHELL % "db-1", (
        Step("psql -c 'select count(*) from orders'", " count\n-------\n 48213\n(1 row)", think=6, runs=1.4),
        Step("df -h /var/lib/postgresql", "Filesystem  Size  Used Avail Use% Mounted on\n"
                                          "/dev/sdb1   200G  121G   79G  61% /var", think=48),
        Step("exit", "logout", think=20),
    )),
    "deploy": Script("web-1", "Web server", SHELL % "web-1", (
        Step("cd /srv/app && git pull --ff-only", "Updating 3f2a9c1..8d41e07\nFast-forward\n"
             " src/orders.py | 14 +++++++++-----\n 1 file changed, 9 insertions(+), 5 deletions(-)", think=4, runs=2),
        Step("./deploy.sh production", "==> building app:8d41e07\n==> pushing app:8d41e07\n"
             "==> rolling out 4 replicas\nreplica 1/4 healthy\nreplica 2/4 healthy\nreplica 3/4 healthy\n"
             "replica 4/4 healthy\n==> deploy finished in 5m12s", think=9, runs=312),
        Step("tail -f /var/log/app/access.log", "\n".join(LOG % (i % 10, i + 1, 2000 + 37 * i) for i in range(16))
             + "\n^C", think=40, runs=6100),
        Step("exit", "logout", think=5),
    )),
    "dump": Script("db-1", "Database", SHELL % "db-1", (
        Step("pg_dump -Fc orders > /backup/orders-2024-01.dump", "", think=5, runs=4870),
        Step("ls -lh /backup", "total 6.3G\n-rw-r--r-- 1 postgres postgres 6.2G Jan  8 04:12 orders-2024-01.dump",
             think=12),
        Step("exit", "logout", think=6),
    )),
    "nginx": Script("web-1", "Web server", SHELL % "web-1", (
        Step("sudo journalctl -u nginx --since today | tail -n 2", "Jan 08 09:58:41 web-1 nginx[812]: no live "
             "upstreams while connecting to upstream\nJan 08 10:02:13 web-1 systemd[1]: Reloaded nginx.", think=5,
             runs=1.5),
        Step("sudo vim /etc/nginx/sites-enabled/app", "", think=14, runs=840),
        Step("sudo nginx -t", "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
             "nginx: configuration file /etc/nginx/nginx.conf test is successful", think=6, runs=0.5),
        Step("sudo systemctl reload nginx", "", think=5, runs=0.8),
        Step("curl -s -o /dev/null -w '%{http_code}\\n' https://app.internal/health", "200", think=30),
        Step("exit", "logout", think=45),
    )),
    "switch": Script("switch-1", "Core switch", "core-sw1# ", (
        Step("show interfaces status | include connected", "Gi1/0/1   uplink-fw   connected  trunk  a-full a-1000\n"
             "Gi1/0/14  print-room  connected  30     a-full a-100", think=6, runs=0.6),
        Step("show logging | last 2", "%LINK-3-UPDOWN: Interface Gi1/0/14, changed state to down\n"
             "%LINK-3-UPDOWN: Interface Gi1/0/14, changed state to up", think=40),
        Step("configure terminal", "Enter configuration commands, one per line.  End with CNTL/Z.", think=65),
        Step("interface Gi1/0/14", "", think=9),
        Step("shutdown", "", think=6),
        Step("no shutdown", "", think=22),
        Step("end", "", think=10),
        Step("write memory", "Building configuration...\n[OK]", think=190, runs=3),
        Step("exit", "Connection closed by foreign host.", think=280),
    )),
}


def terminal_cast(user: str, script: Script, started: float) -> tuple[str, list[dict[str, Any]], float]:
    """An asciinema v2 cast of `user` typing `script`, the command log the proxy would write, and its length in
    seconds (the last event's time: the session lasts that long)."""
    prompt = script.prompt.replace("{user}", user)
    lines = [json.dumps({"version": 2, "width": 80, "height": 20, "timestamp": int(started), "title": script.title})]
    commands = []
    at = 0.4
    lines.append(json.dumps([at, "o", f"Welcome to {script.host}\r\n\r\n{prompt}"]))
    for step in script.steps:
        at += step.think
        started_typing = at
        for char in step.command:  # typed, one echo per key
            at += 0.06
            lines.append(json.dumps([round(at, 3), "o", char]))
        at += 0.3
        lines.append(json.dumps([round(at, 3), "o", "\r\n"]))
        output = step.output.split("\n") if step.output else []
        enter = at
        for n, line in enumerate(output):  # a long run prints as it goes; a short one at once, at its end
            when = enter + step.runs * (n + 1) / len(output) if step.runs > 30 else enter + step.runs
            lines.append(json.dumps([round(when, 3), "o", line + "\r\n"]))
        at = enter + step.runs
        lines.append(json.dumps([round(at, 3), "o", prompt]))
        preview = step.output if len(step.output) <= 200 else step.output[:197] + "..."
        commands.append({"elapsed": round(started_typing, 3), "command": step.command, "output_preview": preview,
                         "timestamp": iso(started + started_typing)})
    return "\n".join(lines) + "\n", commands, round(at, 3)


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# (action, path, detail) of each file session's events, spaced `gap` seconds apart
TRANSFERS: dict[str, list[tuple[str, str, Any]]] = {
    "alice": [("browse", "/srv/share", None), ("browse", "/srv/share/reports", None),
              ("download", "/srv/share/reports/q4-summary.pdf", {"size": 482113}),
              ("mkdir", "/srv/share/incoming/alice", None),
              ("upload", "/srv/share/incoming/alice/budget-2024.xlsx", {"size": 96512}),
              ("rename", "/srv/share/incoming/alice/budget-2024.xlsx", "to budget-2024-final.xlsx"),
              ("chmod", "/srv/share/incoming/alice/budget-2024-final.xlsx", "0640"),
              ("copy", "/srv/share/reports/q4-summary.pdf", "to /srv/share/incoming/alice/q4-summary.pdf"),
              ("delete", "/srv/share/incoming/alice/old-notes.txt", None)],
    "bob": [("browse", "\\\\nas-1\\backups", None), ("browse", "\\\\nas-1\\backups\\web-1", None),
            ("download", "\\\\nas-1\\backups\\web-1\\nginx-2024-01-07.tar.gz", {"size": 18874368}),
            ("upload", "\\\\nas-1\\backups\\web-1\\app-8d41e07.tar.gz", {"size": 52428800}),
            ("delete", "\\\\nas-1\\backups\\web-1\\app-3f2a9c1.tar.gz", None),
            ("browse", "\\\\nas-1\\backups", None)],
    "erin": [("browse", "/outgoing", None), ("upload", "/outgoing/labels-0108.pdf", {"size": 230400}),
             ("upload", "/outgoing/labels-0108.csv", {"size": 5120}), ("browse", "/outgoing", None)],
}


def file_events(user: str, started: float, gap: float) -> list[dict[str, Any]]:
    events = []
    for n, (action, path, detail) in enumerate(TRANSFERS[user]):
        event: dict[str, Any] = {"action": action, "path": path, "timestamp": iso(started + 2 + gap * n)}
        if detail is not None:
            event["detail"] = detail
        events.append(event)
    return events


@dataclass(frozen=True)
class Planned:
    """One demo session: `what` is a terminal script, a WebM fixture or a TRANSFERS entry; it ended `ago`
    seconds before the seeding."""

    kind: str  # terminal, desktop, files
    user: str
    protocol: str
    connection_id: str
    what: str
    ago: float


# newest first: the first four are the ones the viewer's tests open (tests/browser/test_viewer.py)
DEMO = (
    Planned("files", "alice", "sftp", "files-1", "alice", 1 * MINUTE),
    Planned("terminal", "bob", "ssh", "web-1", "bob", 3 * MINUTE),
    Planned("desktop", "alice", "rdp", "win-desktop", DEMO_WEBM, 35 * MINUTE),
    Planned("terminal", "carol", "ssh", "db-1", "carol", 70 * MINUTE),
    Planned("desktop", "dave", "rdp", "win-desktop", DEMO_WEBM, DAY + 2 * HOUR),
    Planned("terminal", "bob", "ssh", "web-1", "deploy", DAY + 6 * HOUR),
    Planned("terminal", "carol", "ssh", "db-1", "dump", 2 * DAY + 3 * HOUR),
    Planned("desktop", "erin", "vnc", "lab-kiosk", SMALL_WEBM, 2 * DAY + 9 * HOUR),
    Planned("desktop", "alice", "rdp", "win-desktop", DEMO_WEBM, 3 * DAY + 1 * HOUR),
    Planned("files", "bob", "smb", "nas-1", "bob", 3 * DAY + 4 * HOUR),
    Planned("terminal", "bob", "telnet", "switch-1", "switch", 4 * DAY + 5 * HOUR),
    Planned("terminal", "dave", "ssh", "web-1", "nginx", 5 * DAY + 2 * HOUR),
    Planned("desktop", "carol", "rdp", "win-desktop", DEMO_WEBM, 6 * DAY + 3 * HOUR),
    Planned("files", "erin", "ftp", "ftp-1", "erin", 6 * DAY + 7 * HOUR),
)
CONNECTIONS = (("win-desktop", "Finance desktop"), ("web-1", "Web server"), ("db-1", "Database"),
               ("files-1", "File share"), ("switch-1", "Core switch"), ("lab-kiosk", "Lab kiosk"),
               ("nas-1", "Backup NAS"), ("ftp-1", "Print vendor FTP"))
FILE_GAPS = {"alice": 9.0, "bob": 190.0, "erin": 41.0}


def wait_complete(api: Api, session_id: str, timeout: float = 30) -> None:
    """Until the recording plays (finalize may leave its last step to the sweep the local stack runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.call("GET", f"/sessions/{session_id}").get("hasRecording"):
            return
        time.sleep(0.3)


def seed(base: str, token: str, rng: random.Random | None = None) -> list[str]:
    """The demo's session ids (DEMO's order), or [] when the table already holds sessions (nothing is written)."""
    rng = rng or random.Random(8)
    api = Api(base, token)
    if api.call("GET", "/sessions?limit=1")["sessions"]:
        return []
    was_enabled = api.call("GET", "/settings/recording")["enabled"]
    api.call("PUT", "/settings/recording", {"enabled": True})
    now = time.time()
    seeds = [random.Random(rng.random()) for _ in DEMO]  # each session's own, whatever order the threads run in
    try:
        for connection_id, name in CONNECTIONS:
            api.call("PUT", f"/connections/{connection_id}", {"name": name, "recordingEnabled": True})
        # a few at a time: each waits on its own calls (the local server serves requests in threads)
        with ThreadPoolExecutor(max_workers=4) as pool:
            made = list(pool.map(lambda p: seed_one(api, p[0], now - p[0].ago, p[1]), zip(DEMO, seeds, strict=True)))
    finally:
        if not was_enabled:
            api.call("PUT", "/settings/recording", {"enabled": False})
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda s: wait_complete(api, s), [s for s, p in zip(made, DEMO, strict=True)
                                                        if p.kind != "files"]))
    return made


def seed_one(api: Api, planned: Planned, ended: float, rng: random.Random) -> str:
    if planned.kind == "terminal":
        return seed_terminal(api, planned, ended)
    if planned.kind == "desktop":
        return seed_desktop(api, planned, ended, rng)
    return seed_files(api, planned, ended)


def start(api: Api, planned: Planned, started: float, ended: float) -> str:
    body = {"connectionId": planned.connection_id, "userId": planned.user, "username": planned.user,
            "startedAt": iso(started), "endedAt": iso(ended)}
    if planned.protocol == "rdp":  # as the gateway's RDP page starts them
        answer = api.call("POST", "/sessions/rdp-session", body)
    else:
        answer = api.call("POST", "/sessions", {"protocol": planned.protocol, **body})
    session_id: str = answer["sessionId"]
    return session_id


def seed_desktop(api: Api, planned: Planned, ended: float, rng: random.Random) -> str:
    chunks, seconds = webm_chunks(planned.what)
    session_id = start(api, planned, ended - seconds, ended)
    for chunk in chunks:
        api.call("POST", f"/sessions/{session_id}/recording/chunk", raw=chunk,
                 content_type="application/octet-stream")
    api.call("POST", f"/sessions/{session_id}/recording/events", input_events(seconds, rng))
    api.call("POST", f"/sessions/{session_id}/recording/finalize")
    return session_id


def seed_terminal(api: Api, planned: Planned, ended: float) -> str:
    script = SCRIPTS[planned.what]
    _, _, seconds = terminal_cast(planned.user, script, 0)
    started = ended - seconds
    cast, commands, _ = terminal_cast(planned.user, script, started)
    session_id = start(api, planned, started, started + seconds)
    raw = cast.encode()
    middle = raw.index(b"\n", len(raw) // 2) + 1  # two chunks, cut at a line end as the proxy flushes
    for chunk in (raw[:middle], raw[middle:]):
        api.call("POST", f"/sessions/{session_id}/recording/chunk", raw=chunk, content_type="application/x-asciicast")
    api.call("POST", f"/sessions/{session_id}/commands", commands)
    api.call("POST", f"/sessions/{session_id}/recording/finalize")
    return session_id


def seed_files(api: Api, planned: Planned, ended: float) -> str:
    gap = FILE_GAPS[planned.what]
    started = ended - 4 - gap * (len(TRANSFERS[planned.what]) - 1)
    session_id = f"demo-{planned.protocol}-" + datetime.fromtimestamp(started, UTC).strftime("%Y%m%d%H%M%S")
    api.call("POST", f"/file-sessions/{session_id}/events",
             {"protocol": planned.protocol, "connectionId": planned.connection_id, "userId": planned.user,
              "username": planned.user, "startedAt": iso(started), "endedAt": iso(ended),
              "events": file_events(planned.what, started, gap)})
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

"""Records the WebM files of tests/fixtures/webm with the browser check's recorder (kept for the seekable issue).

    .venv/bin/python -m tests.browser.record_fixtures

Starts the local stack only to serve the page; nothing is uploaded (`upload: false`). Writes each file and
tests/fixtures/webm/fixtures.json (how each was made, its chunk sizes and SHA-256).
"""

from __future__ import annotations

import base64
import json
import sys

from playwright.sync_api import sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PAGE, fixtures_dir
from tests.support.stack import running_stack

FIXTURES = {
    # the tests' settings: flat colour per second, 1 s timeslice
    "vp9-64x48-5s-1000ms.webm": {"seconds": 5, "timesliceMs": 1000, "width": 64, "height": 48},
    # the fallback when VP9 is not supported
    "vp8-64x48-4s-1000ms.webm": {"seconds": 4, "timesliceMs": 1000, "width": 64, "height": 48,
                                 "mimeType": "video/webm; codecs=vp8"},
    # the gateway's own 5 s timeslice, bigger, 6 rows of noise: a file of several chunks and many clusters
    "vp9-160x120-noise-10s-5000ms.webm": {"seconds": 10, "timesliceMs": 5000, "width": 160, "height": 120,
                                          "noise": 6},
}


def described(palette: list[list[int]], made: dict[str, dict]) -> str:
    files = ",\n".join(f"    {json.dumps(name)}: {json.dumps(entry)}" for name, entry in made.items())
    return f'{{\n  "palette": {json.dumps(palette)},\n  "files": {{\n{files}\n  }}\n}}\n'


def main() -> int:
    folder = fixtures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    with running_stack() as stack, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(stack.base + PAGE)
        palette = page.evaluate("() => window.browserCheck.palette")
        for name, options in FIXTURES.items():
            result = page.evaluate("(o) => window.browserCheck.record(o)", {"sessionId": "none", "upload": False,
                                                                             **options})
            data = base64.b64decode(result.pop("base64"))
            (folder / name).write_bytes(data)
            made[name] = {"options": options, "recorderMimeType": result["recorderMimeType"],
                          "chunkSizes": result["chunkSizes"], "size": len(data), "sha256": result["sha256"],
                          "chromium": browser.version}
            print(f"{name}: {len(data)} bytes in {len(result['chunkSizes'])} chunks")
        browser.close()
    (folder / "fixtures.json").write_text(described(palette, made))
    return 0


if __name__ == "__main__":
    sys.exit(main())

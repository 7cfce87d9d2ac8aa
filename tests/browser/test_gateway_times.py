"""The gateway's history page reads times with `new Date(t.replace(' ', 'T') + 'Z')`: Chromium reads the
TIMESTAMP_FORMAT=gateway form that way and refuses ISO (so the Python model of it in tests/support/times.py, which
the route and HTTP tests use, is the browser's); the viewer shows either form as the same local time."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack
from tests.support.times import PARSE_SAMPLES, gateway_parse

GATEWAY_PARSE = """(samples) => samples.map((t) => {
    const d = new Date(t.replace(' ', 'T') + 'Z');
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
})"""


def test_chromium_reads_times_as_the_gateways_page_does(chromium: Any, stack: Stack) -> None:
    context = chromium.new_context(timezone_id="America/New_York")  # not UTC: a local reading would show
    try:
        page = context.new_page()
        page.goto(stack.base + "/")
        read = page.evaluate(GATEWAY_PARSE, list(PARSE_SAMPLES))
        expected = [None if (p := gateway_parse(t)) is None else p.isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z") for t in PARSE_SAMPLES]
        assert read == expected
        assert read[0] == "2024-01-08T10:42:01.000Z" and read[1] is None  # the gateway's form reads, ISO does not
        # the viewer's own page shows both forms as the same moment, in the browser's time zone
        shown = page.evaluate("""async () => {
            const dom = await import('/viewer/dom.js');
            return [dom.when('2024-01-08 10:42:01'), dom.when('2024-01-08T10:42:01.000Z'),
                    dom.span('2024-01-08 10:42:01', '2024-01-08 11:12:31')];
        }""")
        assert shown == ["2024-01-08 05:42:01", "2024-01-08 05:42:01", "30:30"]
    finally:
        context.close()

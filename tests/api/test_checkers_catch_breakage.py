"""Proof that the hostile checkers fail when the service is broken: each checker the real tests use is run on the
deliberately broken tests/fixtures/broken_app.py and must report that app's sins (these tests pass when it does).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import schemathesis
from chalice.config import Config
from chalice.local import create_local_server
from chalice.test import Client
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.fixtures import broken_app
from tests.support import authorization_matrix as matrix
from tests.support import hostile
from tests.support.clients import ROOT, Api
from tests.support.stack import free_port

BROKEN_SCHEMA = schemathesis.openapi.from_dict(broken_app.BROKEN_DOC)
BROKEN_OPS = {op.label: op for op in hostile.operations(broken_app.BROKEN_DOC)}


@pytest.fixture(scope="module")
def broken_base() -> Iterator[str]:
    """broken_app.http_app served over HTTP on loopback, in a thread of this process, as `chalice local` would."""
    port = free_port()
    server = create_local_server(broken_app.http_app, Config.create(chalice_stage="local", app_name="broken"),
                                 "127.0.0.1", port)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def broken_api(moto) -> Iterator[Api]:
    with Client(broken_app.app, stage_name="local", project_dir=str(ROOT)) as chalice_client:
        yield Api(chalice_client)


def fuzz_failures(base: str, label: str, mode: GenerationMode = GenerationMode.POSITIVE,
                  token: str | None = None) -> set[str]:
    operation = BROKEN_OPS[label]
    with pytest.raises(FailureGroup) as raised:
        hostile.fuzz(hostile.schema_operation(BROKEN_SCHEMA, operation), base, token=token, mode=mode,
                     max_examples=25, shrink=False)
    return hostile.fuzz_failure_titles(raised.value)


def test_the_fuzzer_reports_a_server_error(broken_base):
    assert "Server error" in fuzz_failures(broken_base, "GET /divide")


def test_the_fuzzer_reports_an_undocumented_status(broken_base):
    assert "Undocumented status code" in fuzz_failures(broken_base, "GET /teapot")


def test_the_fuzzer_reports_an_error_that_is_not_json(broken_base):
    assert "Custom check failed: `error_shape`" in fuzz_failures(broken_base, "GET /plain-error")


def test_the_fuzzer_reports_a_body_that_breaks_its_schema(broken_base):
    assert "Response violates schema" in fuzz_failures(broken_base, "GET /wrong-shape")


def test_the_fuzzer_reports_a_redirect_without_a_location(broken_base):
    # and does not follow it: an unfollowed 302 is what it checks
    assert "Custom check failed: `redirect_shape`" in fuzz_failures(broken_base, "GET /lost-redirect")


def test_the_redirect_rule_wants_an_absolute_location():
    assert hostile.redirect_problems(302, "https://bucket.s3.amazonaws.com/r.webm?X-Amz-Signature=1") == []
    assert hostile.redirect_problems(200, None) == []
    assert hostile.redirect_problems(302, None) == ["redirect 302 without a Location"]
    assert hostile.redirect_problems(302, "/recordings/r.webm") == [
        "redirect 302 to '/recordings/r.webm', not an absolute http(s) URL"]
    assert hostile.redirect_problems(307, "javascript:alert(1)") != []


def test_the_fuzzer_reports_a_route_that_ignores_its_token(broken_base):
    assert "API accepts requests without authentication" in fuzz_failures(broken_base, "GET /open-door",
                                                                          token="any-token-at-all")


def test_the_token_check_reports_a_route_that_trusts_unsigned_tokens(broken_base):
    tokens = hostile.hostile_tokens("the-real-secret-" + "k" * 32)
    failures = hostile.hostile_token_failures(hostile.http_sender(broken_base), [BROKEN_OPS["GET /trusting"]], tokens)
    for name in ("expired", "alg-none", "other-key", "hs512", "rs256", "tampered-claims"):
        assert any(f"with {name} token (bearer): status 200, not 401" in f for f in failures), name


def test_the_answer_rules_report_5xx_text_errors_and_undocumented_statuses():
    operation = BROKEN_OPS["GET /divide"]
    assert hostile.answer_problems(operation, 200, "application/json", b"{}") == []
    assert hostile.answer_problems(operation, 500, "application/json", b'{"error": "x"}') == [
        "server error 500", "GET /divide answered 500, which its entry does not document (200, 400)"]
    assert hostile.answer_problems(operation, 400, "text/html", b"<h1>no</h1>") == [
        "error 400 is text/html, not application/json"]
    assert hostile.answer_problems(operation, 400, "application/json", b'{"message": "no"}') == [
        "error 400 has no 'error' string: b'{\"message\": \"no\"}'"]


def test_the_matrix_reports_a_leak_and_a_missing_permission_check(api, recording_on, broken_api):
    rows = [row for row in matrix.ROWS if row.route in {("/sessions/{session_id}", "GET"),
                                                        ("/settings/recording", "GET")}]
    assert len(rows) == 2
    # the broken app starts no sessions: the owner's session is made through the real app, in the same table
    failures = hostile.matrix_failures(hostile.run_matrix(broken_api, rows, matrix.TOKENS, matrix.world_maker(api)))
    leaks = {f.split(":")[0] for f in failures}
    assert leaks == {
        "GET /sessions/{session_id} as other", "GET /sessions/{session_id} as delete",
        "GET /sessions/{session_id} as manage", "GET /sessions/{session_id} as ingest",
        "GET /settings/recording as owner", "GET /settings/recording as other", "GET /settings/recording as view_any",
        "GET /settings/recording as delete", "GET /settings/recording as ingest",
    }
    assert "GET /sessions/{session_id} as other: expected 404, got 200" in failures


def test_the_matrix_reports_a_route_without_a_row():
    assert hostile.routes_without_rows(broken_app.app, matrix.ROWS) == {("/unlisted", "GET")}


def test_the_matrix_reports_a_row_missing_a_caller():
    half = hostile.Row("GET", "/x", lambda w: hostile.Call("GET", "/x"), {"owner": 200})
    (problem,) = hostile.matrix_problems([half])
    assert problem.startswith("GET /x: no expectation for bad, delete, ingest")

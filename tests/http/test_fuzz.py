"""Property-based fuzzing of every operation of docs/openapi.yaml against the real local stack (Schemathesis).

For each operation, as an admin and as a plain user, in positive mode (requests the document allows) and negative
mode (requests it forbids): no 5xx, every status documented, every body as documented, every error JSON with an
`error` string, forbidden requests refused and allowed ones accepted. Driven by the document alone: a route added
to it is fuzzed with no change here. Bounded and deterministic (derandomized Hypothesis, a fixed number of cases).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.support import hostile
from tests.support.clients import ROOT, make_token
from tests.support.sessions import start_session_http

DOC = ROOT / "docs" / "openapi.yaml"
SCHEMA = hostile.load_schema(DOC)
OPERATIONS = hostile.operations(hostile.load_document(DOC))

# Cases per operation and mode, by caller: the admin reaches every branch; the user mostly meets 403/404.
EXAMPLES = {"admin": 40, "user": 12}

# Built-in checks an operation is excused from, each with the reason the document cannot express. Keep it short.
# The two lists share one machinery (chalicelib/api/lists.py), so they share its excuse.
LIST_RULES = ("page * limit is capped and `from` must not be after `to`: rules across parameters, which a schema "
              "cannot state; and a `cursor` is valid only as a `nextCursor` the service signed for that same list, "
              "which no schema can state. So a schema-valid query may be a 400")
BACKFILL_RULES = ("a back-filled startedAt / endedAt must lie between AUDIT_RETENTION_DAYS ago and a minute ahead "
                  "of the service's clock, endedAt not before startedAt, and a back-filled batch's events between "
                  "them: rules against the clock and across fields, which a schema cannot state (tests/api/"
                  "test_backfill.py checks what is accepted). So a schema-valid body may be a 400")
RECORD_PAGES = ("a `cursor` is valid only as a `nextCursor` the service signed for that same session and kind of "
                "record, which no schema can state. So a schema-valid query may be a 400")
EXCUSED = {
    "POST /sessions": {positive_data_acceptance: BACKFILL_RULES},
    "POST /sessions/rdp-session": {positive_data_acceptance: BACKFILL_RULES},
    "POST /file-sessions/{session_id}/events": {positive_data_acceptance: BACKFILL_RULES},
    "GET /sessions": {positive_data_acceptance: LIST_RULES},
    "GET /file-sessions": {positive_data_acceptance: LIST_RULES},
    "GET /sessions/{session_id}/commands": {positive_data_acceptance: RECORD_PAGES},
    "GET /sessions/{session_id}/recording/events": {positive_data_acceptance: RECORD_PAGES},
    "GET /file-sessions/{session_id}/events": {positive_data_acceptance: RECORD_PAGES},
    "GET /access-log": {positive_data_acceptance: "page * limit is capped as for GET /sessions: a rule across "
                                                  "parameters"},
}


@dataclass(frozen=True)
class Fuzzer:
    tokens: dict[str, str]
    # record kind (hostile.PATH_ID_KINDS) -> an existing record's id, by caller: so generated requests reach
    # past "not found"
    records: dict[str, dict[str, str]]


def _json(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def fuzzer(stack) -> Iterator[Fuzzer]:
    """Recording on, one session and one file session per caller; the recording settings the fuzzer scrambles are
    put back after."""
    tokens = {"admin": make_token("fuzz-admin", role="admin"), "user": make_token("fuzz-user")}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    before = _json(requests.get(f"{stack.base}/settings/recording", headers=admin, timeout=10))
    _json(requests.put(f"{stack.base}/settings/recording", json={"enabled": True}, headers=admin, timeout=10))
    records = {}
    for caller, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"}
        created = _json(requests.post(f"{stack.base}/sessions", json={"protocol": "ssh", "connectionId": "fuzz-c1"},
                                      headers=headers, timeout=10))
        file_session = f"fuzz-files-{caller}"
        # the caller's file session, written as the gateway's file browser does: its service token (the admin's)
        _json(requests.post(f"{stack.base}/file-sessions/{file_session}/events", headers=admin, timeout=10,
                            json={"protocol": "sftp", "connectionId": "fuzz-c1", "userId": f"fuzz-{caller}",
                                  "username": f"fuzz-{caller}", "events": [{"action": "browse", "path": "/"}]}))
        records[caller] = {"session": created["sessionId"], "file_session": file_session, "connection": "fuzz-c1"}
    try:
        yield Fuzzer(tokens, records)
    finally:
        requests.put(f"{stack.base}/settings/recording", json=before, headers=admin, timeout=10)


def _plan() -> list[tuple[str, str, hostile.Operation]]:
    plan = []
    for caller in EXAMPLES:
        for operation in OPERATIONS:
            plan.append((caller, "positive", operation))
            if operation.has_inputs or operation.secured:
                plan.append((caller, "negative", operation))
    return plan


@pytest.mark.parametrize(("caller", "mode", "operation"), _plan(),
                         ids=lambda v: v.label if isinstance(v, hostile.Operation) else v)
def test_fuzz(stack, fuzzer, caller, mode, operation):
    sent = hostile.fuzz(
        hostile.schema_operation(SCHEMA, operation),
        stack.base,
        token=fuzzer.tokens[caller],
        mode=GenerationMode(mode),
        max_examples=EXAMPLES[caller],
        known_path_values=hostile.known_path_values(operation.path, fuzzer.records[caller]),
        excluded_checks=EXCUSED.get(operation.label, {}),
    )
    assert sent >= 1


CHANGES = [op for op in OPERATIONS if op.method.upper() in ("POST", "PUT", "DELETE", "PATCH")]


def refused_as_cross_site(ctx, response, case) -> None:
    """A Schemathesis check: a change that carries only the cookie and comes from another site is a 403."""
    if response.status_code != 403:
        raise AssertionError(f"a cross-site cookie-only {case.method} answered {response.status_code}, not 403")


@pytest.mark.parametrize("operation", CHANGES, ids=lambda op: op.label)
def test_fuzz_cross_site_cookie_changes(stack, fuzzer, operation):
    # the admin's token in the cookie, as a page of another site would make the browser send it: whatever the
    # request (valid or not), it is refused before anything is read from it
    sent = hostile.fuzz(
        hostile.schema_operation(SCHEMA, operation),
        stack.base,
        token=None,
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://elsewhere.example"},
        cookie_token=fuzzer.tokens["admin"],
        mode=GenerationMode.POSITIVE,
        max_examples=6,
        known_path_values=hostile.known_path_values(operation.path, fuzzer.records["admin"]),
        # valid data is refused here on purpose, and the credential is the cookie, not a header to drop
        excluded_checks=[positive_data_acceptance, ignored_auth],
        additional_checks=[refused_as_cross_site],
    )
    assert sent >= 1


# The write rules (docs/audit-records.md, "Who writes what"), fuzzed: every valid request a rule refuses gets its
# status. A session the rule is about is made for these tests alone (the fuzzing above purges as the admin).
BY_LABEL = {operation.label: operation for operation in OPERATIONS}
COMMANDS = "POST /sessions/{session_id}/commands"
EVENTS = "POST /sessions/{session_id}/recording/events"
CHUNK = "POST /sessions/{session_id}/recording/chunk"


@dataclass(frozen=True)
class WriteRules:
    finished: str  # the fuzz user's RDP session, finalized and past finalize's grace
    held: str  # an RDP session on legal hold


@pytest.fixture(scope="module")
def write_rules(stack, fuzzer) -> WriteRules:
    admin = {"Authorization": f"Bearer {fuzzer.tokens['admin']}"}
    user = {"Authorization": f"Bearer {fuzzer.tokens['user']}"}
    _json(requests.put(f"{stack.base}/settings/recording", json={"enabled": True}, headers=admin, timeout=10))
    finished = start_session_http(stack.base, user, None, "fuzz-c1", path="/sessions/rdp-session")
    assert _json(requests.post(f"{stack.base}/sessions/{finished}/recording/finalize", headers=user,
                               timeout=30))["recordingState"] == "complete"
    time.sleep(1.5)  # past the stack's FINALIZE_GRACE_SECONDS (1: tests/support/stack.py)
    held = start_session_http(stack.base, admin, None, "fuzz-c1", path="/sessions/rdp-session")
    _json(requests.put(f"{stack.base}/sessions/{held}/hold", headers=admin, timeout=10))
    return WriteRules(finished, held)


def answers(status: int, session_id: str | None = None):
    """A Schemathesis check: the answer is `status` (for cases aimed at `session_id` alone, when given)."""

    def check(ctx, response, case) -> None:
        if session_id is not None and (case.path_parameters or {}).get("session_id") != session_id:
            return
        if response.status_code != status:
            raise AssertionError(f"{case.method} {case.formatted_path} answered {response.status_code}, "
                                 f"not {status}: {response.text[:200]}")

    return check


def fuzz_rule(stack, token: str, label: str, session_id: str, status: int, aimed: bool) -> int:
    return hostile.fuzz(
        hostile.schema_operation(SCHEMA, BY_LABEL[label]), stack.base, token=token, mode=GenerationMode.POSITIVE,
        max_examples=10, known_path_values={"session_id": session_id},
        additional_checks=[answers(status, session_id if aimed else None)],
    )


def test_fuzz_a_user_token_writing_commands_is_403(stack, fuzzer, write_rules):
    # into the user's own session or any other: refused before anything is looked up
    for session_id in (fuzzer.records["user"]["session"], write_rules.finished):
        assert fuzz_rule(stack, fuzzer.tokens["user"], COMMANDS, session_id, 403, aimed=False) >= 1


@pytest.mark.parametrize("label", [EVENTS, CHUNK])
def test_fuzz_a_finished_sessions_append_by_its_owner_is_409(stack, fuzzer, write_rules, label):
    assert fuzz_rule(stack, fuzzer.tokens["user"], label, write_rules.finished, 409, aimed=True) >= 1


@pytest.mark.parametrize("label", [COMMANDS, EVENTS, CHUNK])
def test_fuzz_a_held_sessions_append_is_409(stack, fuzzer, write_rules, label):
    assert fuzz_rule(stack, fuzzer.tokens["admin"], label, write_rules.held, 409, aimed=True) >= 1


def test_every_excused_check_names_a_documented_operation():
    labels = {operation.label for operation in OPERATIONS}
    assert set(EXCUSED) <= labels


def test_every_path_parameter_names_a_known_kind_of_record():
    # a new path parameter (or a new kind of record behind one) needs its line in hostile.PATH_ID_KINDS
    unknown = [(op.label, name) for op in OPERATIONS for name in hostile.path_parameters(op.path)
               if hostile.path_id_kind(op.path, name) is None]
    assert unknown == []

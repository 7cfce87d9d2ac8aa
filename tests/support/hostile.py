"""Checkers for hostile input and hostile callers.

The real tests (tests/http/test_fuzz.py, tests/http/test_hostile_input.py, tests/api/test_authorization_matrix.py)
and the proofs that they catch breakage (tests/api/test_checkers_catch_breakage.py, run against the deliberately
broken tests/fixtures/broken_app.py) call these same functions, so a checker that stopped noticing a failure would
fail its proof.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import ignored_auth

METHODS = ("get", "put", "post", "delete", "patch")

# ---------------------------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str  # upper case, as app.routes spells it
    path: str  # the document's template, e.g. /sessions/{session_id}
    spec: Mapping[str, Any]
    secured: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def statuses(self) -> set[str]:
        return {str(code) for code in self.spec.get("responses", {})}

    @property
    def body_media(self) -> list[str]:
        """The request body's documented media types, first the preferred one (empty: it takes no body)."""
        return list(self.spec.get("requestBody", {}).get("content", {}))

    @property
    def takes_json(self) -> bool:
        return "application/json" in self.body_media

    @property
    def takes_raw(self) -> bool:
        """Its body is raw bytes in one of several media types, never JSON (e.g. a recording chunk)."""
        return bool(self.body_media) and not self.takes_json

    @property
    def has_inputs(self) -> bool:
        return bool(self.spec.get("parameters") or self.spec.get("requestBody"))

    def documents(self, status: int) -> bool:
        return str(status) in self.statuses or f"{status // 100}XX" in self.statuses or "default" in self.statuses


def load_document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def operations(document: Mapping[str, Any]) -> list[Operation]:
    default_secured = bool(document.get("security"))
    found = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method in METHODS:
                secured = bool(spec["security"]) if "security" in spec else default_secured
                found.append(Operation(method.upper(), path, spec, secured))
    return found


# The kind of record each path parameter names, by the path it appears in (first matching prefix wins): tests
# aim requests at an existing record of that kind so they get past "not found". File sessions share the
# `session_id` parameter with sessions but live apart (FILES#<id>): a session's id names no file session.
PATH_ID_KINDS: tuple[tuple[str, str, str], ...] = (
    ("/file-sessions/", "session_id", "file_session"),
    ("/sessions/", "session_id", "session"),
    ("/connections/", "connection_id", "connection"),
    ("/viewer/", "name", "static_file"),  # a file name, not a record: public, nothing to own
)


def path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def path_id_kind(path: str, parameter: str) -> str | None:
    return next((kind for prefix, name, kind in PATH_ID_KINDS if path.startswith(prefix) and name == parameter), None)


def known_path_values(path: str, records: Mapping[str, str]) -> dict[str, str]:
    """{path parameter: an existing record's id} for `path`, from `records` ({kind: id}, e.g. the caller's own)."""
    found = {}
    for parameter in path_parameters(path):
        kind = path_id_kind(path, parameter)
        if kind is not None and kind in records:
            found[parameter] = records[kind]
    return found


def filled(path: str, values: Mapping[str, str], default: str = "x") -> str:
    """The template with each {name} replaced by values[name] (else `default`), for hand-built requests."""
    for name in path_parameters(path):
        path = path.replace("{" + name + "}", values.get(name, default))
    return path


# ---------------------------------------------------------------------------------------------------------------
# One answer: the rules every response of the service keeps
# ---------------------------------------------------------------------------------------------------------------


def error_problems(status: int, content_type: str | None, body: bytes) -> list[str]:
    """What is wrong with an answer by the service's own rules: no 5xx, every error JSON with an `error` string."""
    problems = []
    if status >= 500:
        problems.append(f"server error {status}")
    if status >= 400:
        media = (content_type or "").split(";")[0].strip().lower()
        if media != "application/json":
            problems.append(f"error {status} is {media or 'untyped'}, not application/json")
        else:
            try:
                parsed = json.loads(body)
            except ValueError:
                problems.append(f"error {status} is not valid JSON: {body[:80]!r}")
            else:
                if not isinstance(parsed, dict) or not isinstance(parsed.get("error"), str):
                    problems.append(f"error {status} has no 'error' string: {body[:80]!r}")
    return problems


def answer_problems(operation: Operation, status: int, content_type: str | None, body: bytes) -> list[str]:
    """error_problems plus: the status is one the document lists for the operation."""
    problems = error_problems(status, content_type, body)
    if not operation.documents(status):
        problems.append(f"{operation.label} answered {status}, which its entry does not document "
                        f"({', '.join(sorted(operation.statuses))})")
    return problems


def redirect_problems(status: int, location: str | None) -> list[str]:
    """A redirect (3xx) must say where to: an absolute http(s) URL (a presigned S3 URL, for this service)."""
    if not 300 <= status < 400:
        return []
    if not location:
        return [f"redirect {status} without a Location"]
    parsed = urlsplit(location)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return [f"redirect {status} to {location[:80]!r}, not an absolute http(s) URL"]
    return []


def error_shape(ctx: Any, response: Any, case: Any) -> None:
    """A Schemathesis check (passed as additional_checks): error_problems of each generated request's answer."""
    content_type = (response.headers.get("content-type") or [None])[0]
    problems = error_problems(response.status_code, content_type, response.content)
    if problems:
        raise AssertionError("; ".join(problems))


def redirect_shape(ctx: Any, response: Any, case: Any) -> None:
    """A Schemathesis check: redirect_problems of each answer. The fuzzer never follows a redirect (fuzz()), so
    this is what it checks of one: the target is S3's business, checked by tests/http/test_recording_http.py."""
    location = (response.headers.get("location") or [None])[0]
    problems = redirect_problems(response.status_code, location)
    if problems:
        raise AssertionError("; ".join(problems))


# ---------------------------------------------------------------------------------------------------------------
# The fuzzer: Schemathesis cases, generated from the document, sent over HTTP
# ---------------------------------------------------------------------------------------------------------------


def load_schema(path: Path) -> Any:
    return schemathesis.openapi.from_path(path)


def schema_operation(schema: Any, operation: Operation) -> Any:
    return schema[operation.path][operation.method]


def fuzz(
    schema_op: Any,
    base_url: str,
    *,
    token: str | None,
    mode: GenerationMode,
    max_examples: int,
    known_path_values: Mapping[str, str] | None = None,
    excluded_checks: Iterable[Callable[..., Any]] = (),
    shrink: bool = True,
    headers: Mapping[str, str] | None = None,
    additional_checks: Iterable[Callable[..., Any]] = (),
    cookie_token: str | None = None,
) -> int:
    """Send up to `max_examples` generated requests to one operation and check every answer.

    Checks: Schemathesis's built-in ones (no 5xx, status documented, content type and body schema as documented,
    schema-violating requests refused, schema-valid ones accepted, auth not ignored) plus error_shape. Raises on the
    first failing case (shrunk to a small one unless shrink=False); returns how many requests were sent.
    In positive mode, known_path_values (e.g. a session the caller owns) are used for about half of the cases, so
    the fuzzer reaches past the 404s of made-up ids. `headers` replaces the bearer header (e.g. the headers of a
    cross-site request); `cookie_token` is sent as the gatwy_token cookie of every case (in place of the one the
    document's cookie scheme makes Schemathesis generate); `additional_checks` run after the others.
    """
    headers = dict(headers) if headers is not None else {"Authorization": f"Bearer {token}"} if token else {}
    strategy = schema_op.as_strategy(generation_mode=mode)
    path_names = {p.name for p in schema_op.path_parameters}
    known = {k: v for k, v in (known_path_values or {}).items() if k in path_names}
    if known and mode is GenerationMode.POSITIVE:
        strategy = st.one_of(strategy, schema_op.as_strategy(generation_mode=mode, path_parameters=known))
    sent = [0]
    excluded = list(excluded_checks)
    checks: list[Callable[..., Any]] = [error_shape, redirect_shape, *additional_checks]
    if ignored_auth not in excluded:
        enforced: set[str] = set()

        def auth_enforced(ctx: Any, response: Any, case: Any) -> bool | None:
            """Schemathesis's ignored_auth (a 2xx with the token: the same request without it, and with a forged
            one, must be refused), probed once per run as Schemathesis's own runner does, not after every 2xx case:
            the middleware enforces it alike for every case of a route, and test_hostile_input.py sends 16 forged
            tokens to every operation. Saves three requests per successful case."""
            ctx.auth_enforced_operations = enforced
            return ignored_auth(ctx, response, case)

        checks.append(auth_enforced)
        excluded.append(ignored_auth)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])

    @given(case=strategy)
    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None, phases=phases,
              suppress_health_check=list(HealthCheck), print_blob=False)
    def run(case: Any) -> None:
        sent[0] += 1
        if cookie_token is not None:  # the cookie alone: no bearer header the document's scheme made up either
            case.cookies = {**(case.cookies or {}), "gatwy_token": cookie_token}
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        # Never follow a redirect: the answer under test is the service's 302 (its Location checked by
        # redirect_shape), not S3's object, which the document does not describe (and fetching it is no API call)
        response = case.call(base_url=base_url, headers=headers, timeout=15, allow_redirects=False)
        case.validate_response(response, headers=headers, additional_checks=checks, excluded_checks=excluded)

    run()
    return sent[0]


def fuzz_failure_titles(exc: BaseException) -> set[str]:
    """The failure kinds a fuzz() run raised (e.g. "Server error", "Undocumented status code")."""
    if isinstance(exc, FailureGroup):
        return {getattr(f, "title", type(f).__name__) for f in exc.exceptions}
    return {str(exc)}


# ---------------------------------------------------------------------------------------------------------------
# Hostile tokens: every secured operation must answer each with 401 JSON
# ---------------------------------------------------------------------------------------------------------------


def _unsigned(claims: Mapping[str, Any]) -> str:
    def part(value: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def hostile_tokens(secret: str, user_id: str = "admin") -> dict[str, str | None]:
    """Tokens that must never authenticate, by what is wrong with them (None: no token at all)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = int(time.time())
    claims = {"userId": user_id, "username": user_id, "role": "admin", "exp": now + 3600}
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = jwt.encode(claims, secret, algorithm="HS256")
    head, _, signature = good.split(".")
    return {
        "none": None,
        "expired": jwt.encode({**claims, "exp": now - 60}, secret, algorithm="HS256"),
        "no-expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
        "not-yet-valid": jwt.encode({**claims, "nbf": now + 3600}, secret, algorithm="HS256"),
        "alg-none": _unsigned(claims),
        "alg-none-signed": _unsigned(claims) + signature,
        "other-key": jwt.encode(claims, "another-secret-" + "y" * 32, algorithm="HS256"),
        "hs512": jwt.encode(claims, secret, algorithm="HS512"),
        "rs256": jwt.encode(claims, rsa_key, algorithm="RS256"),
        "tampered-claims": f"{head}.{_unsigned({**claims, 'userId': 'mallory'}).split('.')[1]}.{signature}",
        "truncated-signature": good[:-4],
        "garbage": "not-a-jwt",
        "empty-bearer": "",
        "no-user": jwt.encode({k: v for k, v in claims.items() if k != "userId"}, secret, algorithm="HS256"),
        "bad-permissions": jwt.encode({**claims, "permissions": "settings.manage"}, secret, algorithm="HS256"),
        "non-ascii": "ünïcödé.tökén.☃",
    }


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    body: bytes


Send = Callable[[str, str, Mapping[str, str], bytes], Answer]


def http_sender(base_url: str) -> Send:
    def send(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        # as UTF-8 bytes: requests would refuse a non-Latin-1 header value, and a hostile caller need not
        raw = {name: value.encode() for name, value in headers.items()}
        response = requests.request(method, base_url + path, headers=raw, data=body or None, timeout=15)
        return Answer(response.status_code, response.headers.get("content-type"), response.content)

    return send


def token_headers(token: str | None) -> dict[str, str]:
    if token is None:
        return {}
    return {"Authorization": f"Bearer {token}"}


def hostile_token_failures(send: Send, ops: Iterable[Operation], tokens: Mapping[str, str | None],
                           path_values: Mapping[str, str] | None = None) -> list[str]:
    """Each secured operation x each hostile token (as a Bearer header and as the cookie): anything but 401 JSON."""
    failures = []
    for operation in ops:
        if not operation.secured:
            continue
        path = filled(operation.path, path_values or {})
        body = b"{}" if operation.takes_json else b""
        content_type = (operation.body_media or ["application/json"])[0]
        for name, token in tokens.items():
            carriers = [token_headers(token)]
            if token:
                carriers.append({"Cookie": f"gatwy_token={token}"})
            for headers in carriers:
                answer = send(operation.method, path, {**headers, "Content-Type": content_type}, body)
                problems = error_problems(answer.status, answer.content_type, answer.body)
                if answer.status != 401:
                    problems.append(f"status {answer.status}, not 401")
                if problems:
                    where = "cookie" if "Cookie" in headers else "bearer"
                    failures.append(f"{operation.label} with {name} token ({where}): {'; '.join(problems)}")
    return failures


# ---------------------------------------------------------------------------------------------------------------
# The authorization matrix: every route x every caller -> expected status
# ---------------------------------------------------------------------------------------------------------------

CALLERS = ("none", "bad", "owner", "other", "view_any", "delete", "manage", "ingest")


@dataclass(frozen=True)
class Expect:
    """An expected answer: the status and, where the row defines a `reveals` probe, what it must find."""

    status: int
    reveals: bool | None = None

    def __str__(self) -> str:
        return f"{self.status}" + ("" if self.reveals is None else (" revealing" if self.reveals else " hiding"))


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None
    content_type: str | None = "application/json"


@dataclass(frozen=True)
class Row:
    """One route of the matrix: how to build a valid request for it, and what each caller must get.

    build(world) -> Call: a request that is valid in every respect but the caller, aimed at `world`'s records
    (a session owned by "owner", a connection). reveals(response, world) -> bool: whether the answer exposed the
    owner's record (or, for writes, acted on the owner's behalf); the matrix compares it with Expect.reveals.
    `case` tells apart two rows of one route whose rules depend on the state they meet (e.g. a write that
    creates a record when its id is new).
    """

    method: str
    path: str
    build: Callable[[Any], Call]
    expect: Mapping[str, Expect | int]
    reveals: Callable[[Any, Any], bool] | None = None
    note: str = ""
    case: str = ""

    @property
    def route(self) -> tuple[str, str]:
        return (self.path, self.method)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.case})" if self.case else "")


@dataclass
class Verdict:
    row: str  # the row's label
    caller: str
    expected: Expect
    got: str
    ok: bool


def expected(value: Expect | int) -> Expect:
    return value if isinstance(value, Expect) else Expect(value)


def matrix_problems(rows: Iterable[Row]) -> list[str]:
    """Rows that do not name an expectation for every caller (a route must not ship half-specified)."""
    return [f"{row.label}: no expectation for {', '.join(sorted(set(CALLERS) - set(row.expect)))}"
            for row in rows if set(row.expect) != set(CALLERS)]


def routes_without_rows(app: Any, rows: Iterable[Row]) -> set[tuple[str, str]]:
    """Routes of a Chalice app that the matrix has no row for."""
    served = {(path, method) for path, methods in app.routes.items() for method in methods}
    return served - {row.route for row in rows}


def run_matrix(api: Any, rows: Iterable[Row], tokens: Mapping[str, str | None], world_for: Callable[[], Any]
               ) -> list[Verdict]:
    """Every row x every caller. world_for() builds fresh records for each cell, so writes cannot leak between
    cells; the expectation is met when the status matches and, if set, so does the row's reveals probe."""
    verdicts = []
    for row in rows:
        for caller in CALLERS:
            want = expected(row.expect[caller])
            world = world_for()
            call = row.build(world)
            response = api.call(call.method, call.path, tokens[caller], call.body, content_type=call.content_type)
            got = str(response.status_code)
            ok = response.status_code == want.status
            problems = error_problems(response.status_code, response.headers.get("Content-Type"),
                                      response.body or b"")
            if problems:
                ok = False
                got += " (" + "; ".join(problems) + ")"
            if ok and want.reveals is not None and row.reveals is not None:
                revealed = row.reveals(response, world)
                got += " revealing" if revealed else " hiding"
                ok = revealed == want.reveals
            verdicts.append(Verdict(row.label, caller, want, got, ok))
    return verdicts


def matrix_failures(verdicts: Iterable[Verdict]) -> list[str]:
    return [f"{v.row} as {v.caller}: expected {v.expected}, got {v.got}"
            for v in verdicts if not v.ok]


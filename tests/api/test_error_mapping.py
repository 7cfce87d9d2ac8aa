"""Every domain error answers its status through the whole Chalice stack (view -> at_boundary -> middleware), and
anything else a view raises is a JSON 500 that says nothing of its internals.

Domain errors are plain exceptions (chalicelib/errors.py); Chalice would turn each into its own generic 500 if the
API layer did not map it at the boundary (chalicelib/api/errors.at_boundary), so these fail if that mapping breaks.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from chalicelib import container, errors
from chalicelib.settings import ConfigError, get_settings
from tests.support.clients import ROOT, make_token


def every_subclass(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *every_subclass(sub)]
    return found


DOMAIN_ERRORS = [errors.ServiceError, *every_subclass(errors.ServiceError)]
# the statuses the API has always answered; an error class added later answers its own `status`
EXPECTED = {"ServiceError": 500, "BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
            "Conflict": 409, "ConditionFailed": 409, "PayloadTooLarge": 413, "UnsupportedMediaType": 415,
            "Unavailable": 503}


class Raising:
    """A session service whose read raises what the test chose (the route under test: GET /sessions/{id})."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def get(self, *_args: Any) -> Any:
        raise self.exc


@pytest.fixture
def raising(api: Any, table: Any) -> Any:
    def install(exc: BaseException) -> Any:
        services = container.build(get_settings(), table=table)
        container.use(dataclasses.replace(services, sessions=Raising(exc)))
        return api.get("/sessions/s-1", make_token("alice"))

    return install


def test_every_error_class_of_today_is_still_there():
    assert set(EXPECTED) <= {c.__name__ for c in DOMAIN_ERRORS}


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda c: c.__name__)
def test_each_domain_error_answers_its_status_and_message(raising, error):
    response = raising(error("what went wrong"))
    assert response.status_code == EXPECTED.get(error.__name__, error.status) == error.status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {"error": "what went wrong"}


def test_extra_fields_of_a_domain_error_are_part_of_its_body(raising):
    response = raising(errors.Conflict("chunks are missing", missing=[1, 2]))
    assert response.status_code == 409
    assert response.json == {"error": "chunks are missing", "missing": [1, 2]}


def test_an_unexpected_exception_is_a_json_500_without_internals(raising, caplog):
    with caplog.at_level(logging.ERROR, logger="session_audit"):
        response = raising(KeyError("secret-internal-detail"))
    assert response.status_code == 500
    assert response.json == {"error": "internal server error"}
    assert b"secret-internal-detail" not in response.body and b"Traceback" not in response.body
    assert any(r.exc_info and "secret-internal-detail" in str(r.exc_info[1]) for r in caplog.records)  # kept in logs


def test_a_configuration_error_is_a_500_that_names_no_setting(raising):
    response = raising(ConfigError("JWT_SECRET must be set"))
    assert response.status_code == 500
    assert response.json == {"error": "service misconfigured"}


def test_every_route_maps_errors_at_the_boundary():
    from app import app

    unguarded = [(path, method) for path, methods in app.routes.items() for method, entry in methods.items()
                 if not getattr(entry.view_function, "at_boundary", False)]
    assert unguarded == []


def imports_chalice(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n == "chalice" or n.startswith("chalice.") for n in names):
            return True
    return False


def test_no_module_below_the_api_layer_imports_chalice():
    package = ROOT / "chalicelib"
    below = [p for p in package.rglob("*.py") if p.relative_to(package).parts[0] != "api"]
    assert len(below) > 20
    assert [str(p.relative_to(ROOT)) for p in below if imports_chalice(p)] == []

"""docs/openapi.yaml and the app's routes describe the same API."""

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from app import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def documented_routes(document):
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item
            if method in {"get", "put", "post", "delete", "patch"}}


def app_routes():
    return {(path, method) for path, methods in app.routes.items() for method in methods}


def test_the_document_is_valid_openapi():
    validate(yaml.safe_load(DOC.read_text()))


def test_every_route_has_its_entry_and_every_entry_its_route():
    document = yaml.safe_load(DOC.read_text())
    assert app_routes() - documented_routes(document) == set(), "routes without an OpenAPI entry"
    assert documented_routes(document) - app_routes() == set(), "OpenAPI entries without a route"


def test_the_check_notices_a_missing_entry():
    document = yaml.safe_load(DOC.read_text())
    del document["paths"]["/sessions"]["get"]
    assert ("/sessions", "GET") in app_routes() - documented_routes(document)


def test_served_at_openapi_yaml_without_a_token(api):
    response = api.get("/openapi.yaml", content_type=None)
    assert response.status_code == 200
    assert yaml.safe_load(response.body) == yaml.safe_load(DOC.read_text())

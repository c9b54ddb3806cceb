"""/api/schema/ is a valid OpenAPI 3 document that tells the truth about bodies and envelopes."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from rest_framework.test import APIClient

SUCCESS_ENVELOPE = {"status", "data", "meta"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return node


def test_the_schema_is_a_valid_openapi_3_document(schema) -> None:
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_validator_would_notice_a_broken_document(schema) -> None:
    broken = {**schema, "paths": {"/api/v1/me": {"get": {"responses": "none"}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_path_lives_under_api_v1(schema) -> None:
    assert schema["paths"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


@pytest.mark.parametrize(
    ("path", "method", "fields"),
    [
        ("/api/v1/auth/token", "post", {"email", "password", "company"}),
        ("/api/v1/auth/token/refresh", "post", {"refresh"}),
        ("/api/v1/auth/token/verify", "post", {"token"}),
        ("/api/v1/auth/switch-company", "post", {"company"}),
        ("/api/v1/companies", "post", {"legal_name", "uen", "gst_registered", "gst_number"}),
        ("/api/v1/companies/current", "patch", {"legal_name", "postal_code"}),
        ("/api/v1/memberships/{public_id}", "patch", {"role"}),
        ("/api/v1/invitations", "post", {"email", "role"}),
        ("/api/v1/invitations/accept", "post", {"company", "token"}),
    ],
)
def test_request_bodies_are_documented(schema, path: str, method: str, fields: set[str]) -> None:
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    assert fields <= set(resolve(schema, body)["properties"])


@pytest.mark.parametrize(
    ("path", "method", "status", "fields"),
    [
        ("/api/v1/auth/token", "post", "200", {"access", "refresh"}),
        ("/api/v1/me", "get", "200", {"user", "active_company", "companies"}),
        ("/api/v1/companies", "post", "201", {"id", "uen", "shop_slug", "gst_registered"}),
        ("/api/v1/invitations", "post", "201", {"id", "email", "role", "status"}),
    ],
)
def test_response_bodies_are_documented_inside_the_envelope(
    schema, path: str, method: str, status: str, fields: set[str]
) -> None:
    response = schema["paths"][path][method]["responses"][status]
    envelope = response["content"]["application/json"]["schema"]
    assert set(envelope["properties"]) == SUCCESS_ENVELOPE
    assert fields <= set(resolve(schema, envelope["properties"]["data"])["properties"])


def test_every_json_answer_is_documented_in_the_envelope(schema) -> None:
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if content is None:
                continue
            envelope = resolve(schema, content["schema"])
            if status.startswith("2"):
                assert set(envelope["properties"]) >= SUCCESS_ENVELOPE, (path, method)
            else:
                assert set(envelope["properties"]) == {"status", "error"}, (path, method)


def test_lists_document_their_pagination(schema) -> None:
    response = schema["paths"]["/api/v1/memberships"]["get"]["responses"]["200"]
    page = resolve(schema, response["content"]["application/json"]["schema"])
    pagination = page["properties"]["meta"]["properties"]["pagination"]["properties"]
    assert set(pagination) == {"page", "per_page", "total", "pages"}


def test_bearer_tokens_are_the_documented_way_in(schema) -> None:
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert {"jwtAuth": []} in schema["paths"]["/api/v1/me"]["get"]["security"]
    # Signing in needs no credentials beyond the body.
    assert schema["paths"]["/api/v1/auth/token"]["post"]["security"] == [{}]


@pytest.mark.django_db
def test_the_api_docs_page_serves() -> None:
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content

"""Every operation in /api/schema/ answers what the schema documents: walked with a bad id, a
bad body, a broken body and no token, each answer is a documented status in the JSON error
envelope. And every operation shows examples and its real error statuses, never "4XX"."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# A path parameter that is not an id takes a value the route accepts, so the id is what fails.
VALID_PARAMETERS = {"size": "thumb", "kind": "web", "gateway": "stripe"}


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.fixture
def schema(owner_client: APIClient) -> dict[str, Any]:
    answer = owner_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert answer.status_code == 200
    return answer.json()


def assert_error_envelope(answer: Any, documented: dict[str, Any], what: str) -> None:
    assert str(answer.status_code) in documented, (what, answer.status_code, answer.content[:300])
    body = answer.json()
    assert body["status"] == "error", what
    assert body["error"]["code"], what
    assert body["error"]["message"], what
    assert isinstance(body["error"]["details"], list), what


def with_ids(path: str, value: str) -> str:
    return re.sub(r"{([^}]+)}", lambda match: VALID_PARAMETERS.get(match.group(1), value), path)


def json_body_only(operation: dict[str, Any]) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def test_every_operation_documents_its_errors_and_shows_examples(schema) -> None:
    assert operations(schema)
    for method, path, operation in operations(schema):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        assert "4XX" not in responses, where
        errors = [status for status in responses if status.startswith(("4", "5"))]
        assert errors, where
        for status in errors:
            content = responses[status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}, where
            assert content["examples"], where
        if "{" in path:
            assert "404" in responses, where
        if not operation.get("security") or {} not in operation["security"]:
            assert "401" in responses, where
        bodies = list(operation.get("requestBody", {}).get("content", {}).values())
        bodies += [
            media
            for status, response in responses.items()
            if status.startswith("2")
            for media in response.get("content", {}).values()
        ]
        for media in bodies:
            if "schema" in media:
                assert "example" in media or "examples" in media, where


def test_conflicts_are_documented_where_they_occur(schema) -> None:
    def conflict_codes(method: str, path: str) -> set[str]:
        response = schema["paths"][path][method]["responses"].get("409", {})
        return set(response.get("content", {}).get("application/json", {}).get("examples", {}))

    assert "insufficient_stock" in conflict_codes("post", "/api/v1/inventory/reservations")
    assert "duplicate_receipt" in conflict_codes("post", "/api/v1/inventory/purchase-receipts")
    assert "duplicate_reference" in conflict_codes("post", "/api/v1/payments")
    assert "last_owner" in conflict_codes("delete", "/api/v1/memberships/{public_id}")
    assert conflict_codes("get", "/api/v1/me") == set()


def test_the_docs_open_with_an_authentication_quick_start(schema, client) -> None:
    description = schema["info"]["description"]
    assert description.index("Quick start") < description.index("Conventions")
    assert "POST /api/v1/auth/token" in description
    assert "Authorization: Bearer" in description
    page = client.get("/api/docs/").content.decode()
    # The page loads nothing from other hosts.
    assert not re.search(r"""(src|href)=["']https?://""", page)


def test_every_route_answers_a_bad_id_with_a_documented_error(schema, owner_client) -> None:
    walked = 0
    for method, path, operation in operations(schema):
        if "{" not in path:
            continue
        url = with_ids(path, str(uuid.uuid4()))
        answer = getattr(owner_client, method)(url, {}, format="json")
        assert_error_envelope(answer, operation["responses"], f"{method.upper()} {url}")
        if method in ("get", "delete"):
            assert answer.status_code == 404, (method, url)
        # An id that is not even a UUID is as unknown.
        answer = getattr(owner_client, method)(with_ids(path, "not-an-id"), {}, format="json")
        assert_error_envelope(answer, operation["responses"], f"{method.upper()} {path} bad")
        walked += 1
    assert walked >= 30


def test_every_body_refuses_a_bad_and_a_broken_body(schema, owner_client) -> None:
    walked = 0
    for method, path, operation in operations(schema):
        if "requestBody" not in operation or "{" in path:
            continue
        where = f"{method.upper()} {path}"
        if json_body_only(operation):
            bad = getattr(owner_client, method)(path, {"not_a_field": ["nonsense"]}, format="json")
            broken = getattr(owner_client, method)(
                path, data="{not json", content_type="application/json"
            )
            assert_error_envelope(broken, operation["responses"], f"{where} broken")
            assert broken.status_code == 400, where
        else:
            bad = getattr(owner_client, method)(
                path, {"not_a_field": "nonsense"}, format="multipart"
            )
        assert_error_envelope(bad, operation["responses"], f"{where} bad")
        assert bad.status_code == 400, (where, bad.content[:300])
        walked += 1
    assert walked >= 15


def test_every_signed_in_route_refuses_a_request_without_a_token(schema) -> None:
    anonymous = APIClient()
    for method, path, operation in operations(schema):
        if "401" not in operation["responses"]:
            continue
        url = with_ids(path, str(uuid.uuid4()))
        answer = getattr(anonymous, method)(url, {}, format="json")
        assert answer.status_code == 401, (method, url)
        assert_error_envelope(answer, operation["responses"], f"{method.upper()} {url}")

"""Every route in the schema, called with an id that names nothing and with a body that is
wrong, answers a clear 4xx in the error envelope and changes nothing: never a 5xx."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from pasar.core.models import AuditEntry, OutboxEvent
from pasar.core.tenant import platform_access
from tests.conftest import authenticated_client

pytestmark = pytest.mark.django_db

CLIENT_ERRORS = {400, 401, 403, 404, 405, 409, 415, 429}
PARAMETER = re.compile(r"\{[^}]+\}")
# Routes whose path parameter is not an id (a company's public id in a webhook, a file size).
SKIPPED = {"/api/v1/catalog/images/{public_id}/{size}"}


def schema_operations() -> list[tuple[str, str]]:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    found = []
    for path, item in schema["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                found.append((path, method))
    return found


def written() -> tuple[int, int]:
    with platform_access(reason="test: count what the requests wrote"):
        # Not counting the platform-access entries this reading itself leaves.
        entries = AuditEntry.objects.exclude(action="platform.access").count()
        return entries, OutboxEvent.objects.count()


def assert_envelope(response: Any, context: str) -> None:
    assert response.status_code in CLIENT_ERRORS, (context, response.status_code, response.content)
    body = response.json()
    assert body["status"] == "error", context
    assert body["error"]["code"], context
    assert body["error"]["message"], context


def test_every_route_answers_a_bad_id_and_a_bad_body_with_a_4xx_envelope(company, owner) -> None:
    client = authenticated_client(owner, company)
    before = written()
    operations = schema_operations()
    assert len(operations) > 50  # the whole API, not a corner of it
    for path, method in operations:
        if path in SKIPPED:
            continue
        call = getattr(client, method)
        if PARAMETER.search(path):
            missing = PARAMETER.sub(str(uuid.uuid4()), path)
            not_an_id = PARAMETER.sub("not-an-id", path)
            for url in (missing, not_an_id):
                response = call(url, {}, format="json") if method != "get" else call(url)
                assert_envelope(response, f"{method.upper()} {url}")
        elif method in {"post", "put", "patch"}:
            url = path
            for body in ({"unexpected_field": True}, [1, 2, 3]):
                response = call(url, body, format="json")
                assert_envelope(response, f"{method.upper()} {url} {body!r}")
            response = call(url, "not json", content_type="application/json")
            assert_envelope(response, f"{method.upper()} {url} malformed")
    assert written() == before

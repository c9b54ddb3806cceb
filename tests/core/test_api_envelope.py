"""Every /api/v1/ answer comes in the envelope: success with data and meta, errors with a
stable code, a sentence and details."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from pasar.core.api import EnvelopeRenderer, StrictSerializer
from pasar.core.errors import Conflict
from pasar.core.tenant import tenant_context
from pasar.tenancy.models import Membership, Role
from tests.conftest import authenticated_client, member


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"status", "error"}
    assert body["status"] == "error"
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


class PlaceInput(StrictSerializer):
    name = serializers.CharField(max_length=5)
    postal_code = serializers.RegexField(r"^\d{6}$")


class ProbeView(APIView):
    """A view that fails in each of the ways the handler has to translate."""

    authentication_classes = ()
    permission_classes = ()
    failure = ""

    def post(self, request):
        if self.failure == "django_validation":
            raise DjangoValidationError({"uen": ["That is not a valid UEN."]})
        if self.failure == "http404":
            raise Http404
        if self.failure == "domain":
            raise Conflict("Already there.", code="duplicate", details=[{"field": "x"}])
        PlaceInput(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


def probe(failure: str = "", body: dict | None = None):
    request = APIRequestFactory().post("/probe", body or {}, format="json")
    response = ProbeView.as_view(failure=failure)(request)
    response.render()
    return response


# -- success --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_success_is_wrapped_with_data_and_meta(owner_client) -> None:
    body = owner_client.get("/api/v1/me").json()
    assert set(body) == {"status", "data", "meta"}
    assert body["status"] == "success"
    assert body["meta"] == {}
    assert body["data"]["user"]["email"] == "owner@kopitest.example"


@pytest.mark.django_db
def test_a_list_carries_its_pagination_in_meta(company, owner_client) -> None:
    for _ in range(4):
        member(company, Role.SALES)
    first = owner_client.get("/api/v1/memberships", {"per_page": 2}).json()
    assert first["meta"]["pagination"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    last = owner_client.get("/api/v1/memberships", {"per_page": 2, "page": 3}).json()
    assert len(last["data"]) == 1
    assert last["meta"]["pagination"]["page"] == 3


@pytest.mark.django_db
def test_per_page_is_capped(owner_client) -> None:
    body = owner_client.get("/api/v1/memberships", {"per_page": 100000}).json()
    assert body["meta"]["pagination"]["per_page"] == 200


@pytest.mark.django_db
def test_a_page_past_the_end_is_a_404_in_the_envelope(owner_client) -> None:
    error = error_of(owner_client.get("/api/v1/memberships", {"page": 9}), 404)
    assert error["code"] == "not_found"


@pytest.mark.django_db
def test_no_content_has_no_body(company, owner_client) -> None:
    sales = member(company, Role.SALES)
    with tenant_context(company):
        target = Membership.objects.get(user=sales)
    response = owner_client.delete(f"/api/v1/memberships/{target.public_id}")
    assert response.status_code == 204
    assert response.content == b""


def test_the_renderer_leaves_an_already_wrapped_body_alone() -> None:
    wrapped = {"status": "error", "error": {"code": "x", "message": "y", "details": []}}
    assert json.loads(EnvelopeRenderer().render(wrapped)) == wrapped
    assert EnvelopeRenderer().render([1, 2]) == b'{"status":"success","data":[1,2],"meta":{}}'


# -- errors ---------------------------------------------------------------------------------


def test_one_invalid_field_is_named_in_the_message() -> None:
    error = error_of(probe(body={"name": "Kopi", "postal_code": "12"}), 400)
    assert error["code"] == "invalid"
    assert error["message"].startswith("postal_code: ")
    assert error["details"] == [
        {"field": "postal_code", "code": "invalid", "message": error["message"][13:]}
    ]


def test_several_invalid_fields_are_listed_in_details() -> None:
    error = error_of(probe(body={"name": "Kopi Kakis"}), 400)
    assert error["message"] == "Some of the information sent is not valid; see details."
    assert {detail["field"] for detail in error["details"]} == {"name", "postal_code"}


def test_unknown_fields_are_refused_by_name() -> None:
    error = error_of(probe(body={"name": "Kopi", "postal_code": "123456", "is_admin": 1}), 400)
    assert error["details"] == [
        {"field": "is_admin", "code": "invalid", "message": "This field is not accepted here."}
    ]


def test_a_domain_error_keeps_its_code_status_and_details() -> None:
    error = error_of(probe("domain"), 409)
    assert error == {"code": "duplicate", "message": "Already there.", "details": [{"field": "x"}]}


def test_a_django_validation_error_becomes_a_400() -> None:
    error = error_of(probe("django_validation"), 400)
    assert error["message"] == "uen: That is not a valid UEN."


def test_http404_becomes_not_found() -> None:
    assert error_of(probe("http404"), 404)["code"] == "not_found"


@pytest.mark.django_db
def test_malformed_json_is_a_400_malformed_request(api_client) -> None:
    response = api_client.generic(
        "POST", "/api/v1/auth/token", b"{not json", content_type="application/json"
    )
    error = error_of(response, 400)
    assert error["code"] == "malformed_request"
    assert error["message"] == "The request body could not be read; send valid JSON."


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_a_415(api_client) -> None:
    response = api_client.post(
        "/api/v1/auth/token", "email=a&password=b", content_type="application/x-www-form-urlencoded"
    )
    assert error_of(response, 415)["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_a_wrong_method_is_a_405(owner_client) -> None:
    assert error_of(owner_client.put("/api/v1/me", {}), 405)["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_no_credentials_is_a_401(api_client) -> None:
    error = error_of(api_client.get("/api/v1/me"), 401)
    assert error["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_bad_token_is_a_401_in_plain_words(api_client) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    error = error_of(api_client.get("/api/v1/me"), 401)
    assert error["code"] == "invalid_token"
    assert error["message"].startswith("Your sign-in token is not valid or has expired.")
    assert error["details"] == []


@pytest.mark.django_db
def test_a_role_beyond_its_rights_is_a_403(company) -> None:
    client = authenticated_client(member(company, Role.SALES), company)
    error = error_of(client.get("/api/v1/memberships"), 403)
    assert error["code"] == "permission_denied"


@pytest.mark.django_db
def test_too_many_requests_is_a_429(api_client, monkeypatch) -> None:
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "1/min")
    api_client.post("/api/v1/auth/token/verify", {"token": "x"}, format="json")
    response = api_client.post("/api/v1/auth/token/verify", {"token": "x"}, format="json")
    assert error_of(response, 429)["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("method", "path", "hint"),
    [
        ("get", "/api/v1/no-such-thing", None),
        ("get", "/api/v2/me", None),
        ("post", "/api/v1/catalog/nothing/here", None),
        ("get", "/api/v1/me/", "/api/v1/me"),
        ("post", "/api/v1/auth/token/", "/api/v1/auth/token"),
        ("get", "/api/schema", "/api/schema/"),
    ],
)
def test_an_unknown_api_path_answers_in_the_envelope(
    owner_client, method: str, path: str, hint: str | None
) -> None:
    response = getattr(owner_client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "not_found"
    if hint:
        assert f"did you mean {hint}?" in body["error"]["message"]
    else:
        assert "did you mean" not in body["error"]["message"]


def test_api_times_are_utc_with_a_z(company, owner_client) -> None:
    from tests.catalog.helpers import product

    product(company, "Kopi O", {"sku": "KOPI-O", "price": "1.80"})
    body = owner_client.get("/api/v1/catalog/products").json()

    def times(value: object) -> list[str]:
        if isinstance(value, dict):
            return [t for item in value.values() for t in times(item)]
        if isinstance(value, list):
            return [t for item in value for t in times(item)]
        if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and "T" in value:
            return [value]
        return []

    found = times(body)
    assert found, "expected some timestamps to check"
    assert all(t.endswith("Z") for t in found), found

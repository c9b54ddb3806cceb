"""A signed-in request whose view raises (404 and 403 included) or that answers 5xx writes
nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Location
from tests.conftest import authenticated_client

NAME = "Written by a failing request"


def _write(request: HttpRequest) -> None:
    Location.objects.create(company=request.company, name=NAME)  # type: ignore[attr-defined]


def write_then_raise(request: HttpRequest) -> HttpResponse:
    _write(request)
    raise RuntimeError("something broke after the write")


def write_then_answer_500(request: HttpRequest) -> HttpResponse:
    _write(request)
    return HttpResponse("upstream failed", status=500)


def write_then_answer_503(request: HttpRequest) -> HttpResponse:
    _write(request)
    return HttpResponse("try later", status=503)


def write_then_not_found(request: HttpRequest) -> HttpResponse:
    _write(request)
    raise Http404("gone after the write")


def write_then_forbidden(request: HttpRequest) -> HttpResponse:
    _write(request)
    raise PermissionDenied


def write_and_succeed(request: HttpRequest) -> HttpResponse:
    _write(request)
    return HttpResponse("ok")


urlpatterns = [
    path("fail/raise", write_then_raise),
    path("fail/500", write_then_answer_500),
    path("fail/503", write_then_answer_503),
    path("fail/404", write_then_not_found),
    path("fail/403", write_then_forbidden),
    path("fail/ok", write_and_succeed),
    path("", include("pasar.urls")),
]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def written(company) -> int:
    with tenant_context(company):
        return Location.objects.filter(name=NAME).count()


FAILING = ["fail/raise", "fail/500", "fail/503", "fail/404", "fail/403"]


@pytest.mark.parametrize("route", FAILING)
def test_a_failed_api_request_writes_nothing(company, owner, route) -> None:
    client = authenticated_client(owner, company)
    client.raise_request_exception = False
    response = client.get(f"/{route}")
    assert response.status_code >= 400
    assert written(company) == 0


@pytest.mark.parametrize("route", FAILING)
def test_a_failed_page_request_writes_nothing(company, owner, route) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.get(f"/{route}")
    assert response.status_code >= 400
    assert written(company) == 0


def test_a_request_that_succeeds_keeps_its_writes(company, owner) -> None:
    client = Client()
    client.force_login(owner)
    assert client.get("/fail/ok").status_code == 200
    assert written(company) == 1

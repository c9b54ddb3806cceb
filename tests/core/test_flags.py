"""Feature flags per company: on for the chosen companies, waffle's own rules intact."""

from __future__ import annotations

from typing import Any

import pytest
import waffle
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, JsonResponse
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import include, path

from pasar.core.tenant import platform_access
from pasar.tenancy.flags import flag_is_active
from pasar.tenancy.models import Company, Flag, Role, User
from tests.conftest import authenticated_client, member

FLAG = "paynow_qr"


def _feature_state(request: HttpRequest, name: str) -> JsonResponse:
    # waffle's own API, as views and templates use it.
    return JsonResponse({"active": waffle.flag_is_active(request, name)})


urlpatterns = [
    path("probe/flags/<str:name>", _feature_state),
    path("", include("pasar.urls")),
]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture
def flag_for_company(company: Company) -> Flag:
    flag = Flag.objects.create(name=FLAG, superusers=False)
    # Which companies have a flag is written under platform access only (the admin's way).
    with platform_access(reason="test: switch the flag on for a company"):
        flag.companies.add(company)
    return flag


@pytest.fixture
def other_member(other_company: Company) -> User:
    return member(other_company, Role.OWNER)


def _active_for(user: User, company: Company, client: Any = None) -> bool:
    response = (client or authenticated_client(user, company)).get(f"/probe/flags/{FLAG}")
    assert response.status_code == 200
    return bool(response.json()["active"])


def _request_for(company: Company | None, cookies: dict[str, str] | None = None) -> HttpRequest:
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies or {})
    request.user = AnonymousUser()
    request.company = company  # type: ignore[attr-defined]  # as TenantMiddleware sets it
    return request


@pytest.mark.usefixtures("flag_for_company")
def test_flag_on_for_one_company_is_seen_only_by_its_requests(
    owner: User, company: Company, other_member: User, other_company: Company
) -> None:
    assert _active_for(owner, company) is True
    assert _active_for(other_member, other_company) is False
    assert Client().get(f"/probe/flags/{FLAG}").json() == {"active": False}


@pytest.mark.usefixtures("flag_for_company")
def test_services_ask_by_company(company: Company, other_company: Company) -> None:
    assert flag_is_active(company, FLAG) is True
    assert flag_is_active(other_company, FLAG) is False
    assert flag_is_active(_request_for(company), FLAG) is True
    assert flag_is_active(_request_for(other_company), FLAG) is False


@pytest.mark.usefixtures("flag_for_company")
def test_templates_see_the_company_flag(company: Company, other_company: Company) -> None:
    template = Template("{% load waffle_tags %}{% flag 'paynow_qr' %}on{% else %}off{% endflag %}")
    for shop, expected in ((company, "on"), (other_company, "off")):
        assert template.render(Context({"request": _request_for(shop)})) == expected


def test_everyone_yes_reaches_every_company(
    flag_for_company: Flag, company: Company, other_company: Company
) -> None:
    flag_for_company.everyone = True
    flag_for_company.save()
    assert flag_is_active(_request_for(other_company), FLAG) is True
    assert flag_is_active(other_company, FLAG) is True


def test_everyone_no_switches_it_off_for_listed_companies_too(
    flag_for_company: Flag, company: Company
) -> None:
    flag_for_company.everyone = False
    flag_for_company.save()
    assert flag_is_active(_request_for(company), FLAG) is False
    assert flag_is_active(company, FLAG) is False


def test_percent_rollout_still_decides_for_other_companies(
    flag_for_company: Flag, company: Company, other_company: Company
) -> None:
    flag_for_company.percent = 50
    flag_for_company.save()
    cookie = f"dwf_{FLAG}"
    assert flag_is_active(_request_for(other_company, {cookie: "True"}), FLAG) is True
    assert flag_is_active(_request_for(other_company, {cookie: "False"}), FLAG) is False
    # A listed company has it whatever its rollout cookie says.
    assert flag_is_active(_request_for(company, {cookie: "False"}), FLAG) is True


def test_percent_rollout_remembers_its_draw_in_a_cookie(
    flag_for_company: Flag, other_member: User, other_company: Company
) -> None:
    flag_for_company.percent = 50
    flag_for_company.save()
    response = authenticated_client(other_member, other_company).get(f"/probe/flags/{FLAG}")
    assert response.cookies[f"dwf_{FLAG}"].value == str(response.json()["active"])


def test_waffle_user_list_still_works(
    flag_for_company: Flag, other_member: User, other_company: Company
) -> None:
    flag_for_company.users.add(other_member)
    browser = Client()
    browser.force_login(other_member)
    assert _active_for(other_member, other_company, browser) is True


def test_unknown_flag_is_off(company: Company) -> None:
    assert flag_is_active(company, "no_such_feature") is False
    assert flag_is_active(_request_for(company), "no_such_feature") is False


def test_switching_companies_takes_effect_at_once(
    flag_for_company: Flag,
    company: Company,
    other_company: Company,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert flag_is_active(other_company, FLAG) is False  # now cached

    with (
        django_capture_on_commit_callbacks(execute=True),
        platform_access(reason="test: change the flag's companies"),
    ):
        flag_for_company.companies.add(other_company)
    assert flag_is_active(other_company, FLAG) is True

    with (
        django_capture_on_commit_callbacks(execute=True),
        platform_access(reason="test: change the flag's companies"),
    ):
        company.flags.remove(flag_for_company)  # from the company's side
    assert flag_is_active(company, FLAG) is False

    with (
        django_capture_on_commit_callbacks(execute=True),
        platform_access(reason="test: change the flag's companies"),
    ):
        other_company.flags.clear()
    assert flag_is_active(other_company, FLAG) is False


def test_admin_picks_companies_in_a_two_box_selector() -> None:
    flag_admin = admin.site._registry[Flag]
    assert "companies" in flag_admin.filter_horizontal

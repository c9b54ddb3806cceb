"""The /api/v1/ sign-in, company, membership and invitation endpoints, good input and bad."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from pasar.core.tenant import platform_access, tenant_context
from pasar.tenancy import services
from pasar.tenancy.auth import tokens_for
from pasar.tenancy.middleware import SESSION_COMPANY_KEY
from pasar.tenancy.models import Company, Invitation, Membership, Role, User
from tests.conftest import authenticated_client, member
from tests.factories import PASSWORD, CompanyFactory, MembershipFactory, UserFactory, valid_uen
from tests.tenancy.test_services import counts

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"
VERIFY = "/api/v1/auth/token/verify"
SWITCH = "/api/v1/auth/switch-company"
ME = "/api/v1/me"
COMPANIES = "/api/v1/companies"
CURRENT = "/api/v1/companies/current"
MEMBERSHIPS = "/api/v1/memberships"
INVITATIONS = "/api/v1/invitations"
ACCEPT = "/api/v1/invitations/accept"


def assert_error(response, status: int, code: str) -> dict:
    """The error envelope with that status and code, and a sentence for a person."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert body["error"]["message"].strip()
    assert isinstance(body["error"]["details"], list)
    return body["error"]


def data(response, status: int = 200):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "success"
    return body["data"]


def sign_in(client: APIClient, email: str, password: str = PASSWORD, **extra):
    return client.post(TOKEN, {"email": email, "password": password, **extra}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def membership_of(company: Company, user: User) -> Membership:
    with tenant_context(company):
        return Membership.objects.get(user=user)


# -- auth/token -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_returns_a_pair_acting_for_the_first_company_joined(
    api_client, company, other_company, owner
) -> None:
    MembershipFactory(company=other_company, user=owner, role=Role.SALES)
    tokens = data(sign_in(api_client, "Owner@KopiTest.example"))
    assert set(tokens) == {"access", "refresh"}
    assert AccessToken(tokens["access"])["company"] == str(company.public_id)
    assert RefreshToken(tokens["refresh"])["company"] == str(company.public_id)


@pytest.mark.django_db
def test_token_may_name_the_company_to_act_for(api_client, company, other_company, owner):
    MembershipFactory(company=other_company, user=owner, role=Role.SALES)
    tokens = data(sign_in(api_client, owner.email, company=str(other_company.public_id)))
    assert AccessToken(tokens["access"])["company"] == str(other_company.public_id)
    me = data(bearer(tokens["access"]).get(ME))
    assert me["active_company"]["id"] == str(other_company.public_id)
    assert me["active_company"]["role"] == "sales"


@pytest.mark.django_db
def test_token_refuses_a_company_the_user_is_not_in(api_client, owner, other_company) -> None:
    response = sign_in(api_client, owner.email, company=str(other_company.public_id))
    assert_error(response, 403, "not_a_member")


@pytest.mark.django_db
def test_token_for_a_user_without_a_company_carries_none(api_client) -> None:
    user = UserFactory()
    tokens = data(sign_in(api_client, user.email))
    assert "company" not in AccessToken(tokens["access"])


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["owner@kopitest.example", "nobody@kopitest.example"])
def test_wrong_password_or_unknown_email_gets_401_invalid_credentials(
    api_client, owner, email: str
) -> None:
    before = counts()
    error = assert_error(sign_in(api_client, email, "not-the-password"), 401, "invalid_credentials")
    assert "do not match" in error["message"]
    assert counts() == before


@pytest.mark.django_db
def test_an_inactive_user_cannot_sign_in(api_client, owner) -> None:
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert_error(sign_in(api_client, owner.email), 401, "invalid_credentials")


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_out_with_429(api_client, owner, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(api_client, owner.email, "wrong-password").status_code == 401
    assert_error(sign_in(api_client, owner.email, "wrong-password"), 429, "locked_out")
    # Now even the right password is refused until the cool-off ends.
    assert_error(sign_in(api_client, owner.email), 429, "locked_out")


@pytest.mark.django_db
def test_shopper_credentials_never_obtain_staff_tokens(api_client, company) -> None:
    services.shopper_register(company=company, email="buyer@example.com", password=PASSWORD)
    assert_error(sign_in(api_client, "buyer@example.com"), 401, "invalid_credentials")


@pytest.mark.django_db
def test_a_shopper_password_does_not_open_a_staff_account_of_the_same_email(
    api_client, company
) -> None:
    UserFactory(email="both@example.com", password="staff-password-1234")
    services.shopper_register(company=company, email="both@example.com", password=PASSWORD)
    assert_error(sign_in(api_client, "both@example.com"), 401, "invalid_credentials")


@pytest.mark.django_db
def test_auth_endpoints_are_rate_limited(api_client, monkeypatch) -> None:
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "2/min")
    for _ in range(2):
        assert api_client.post(VERIFY, {"token": "x"}, format="json").status_code == 401
    assert_error(api_client.post(VERIFY, {"token": "x"}, format="json"), 429, "rate_limited")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "a@example.com", "password": "x", "remember_me": True}, "invalid"),
        ({"email": "a@example.com"}, "invalid"),
        ({"email": "not-an-email", "password": "x"}, "invalid"),
        ({"email": "a@example.com", "password": "x", "company": "nope"}, "invalid"),
        ([], "invalid"),
    ],
)
def test_token_refuses_bad_input_with_400(api_client, owner, body, code: str) -> None:
    before = counts()
    error = assert_error(api_client.post(TOKEN, body, format="json"), 400, code)
    if isinstance(body, dict) and "remember_me" in body:
        assert error["message"] == "remember_me: This field is not accepted here."
    assert counts() == before


@pytest.mark.django_db
def test_malformed_json_gets_400_malformed_request(api_client, owner_client) -> None:
    for client, url in ((api_client, TOKEN), (owner_client, CURRENT)):
        response = client.generic(
            "POST" if url == TOKEN else "PATCH",
            url,
            '{"email": "owner@kopitest.example", ',
            content_type="application/json",
        )
        error = assert_error(response, 400, "malformed_request")
        assert "valid JSON" in error["message"]


# -- refresh and verify ---------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_rotates_and_keeps_the_company(api_client, company, owner) -> None:
    first = data(sign_in(api_client, owner.email))
    second = data(api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json"))
    assert second["refresh"] != first["refresh"]
    assert AccessToken(second["access"])["company"] == str(company.public_id)
    assert RefreshToken(second["refresh"])["company"] == str(company.public_id)
    assert data(bearer(second["access"]).get(ME))["active_company"]["id"] == str(company.public_id)
    # The old refresh token was used up.
    reused = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert_error(reused, 401, "invalid_token")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["garbage", "access", "deleted_user"])
def test_refresh_refuses_what_is_not_a_live_refresh_token(api_client, kind) -> None:
    user = UserFactory()
    tokens = tokens_for(user=user, company=None)
    token = {"garbage": "abc.def.ghi", "access": tokens["access"]}.get(kind, tokens["refresh"])
    if kind == "deleted_user":
        RefreshToken(token)  # still valid as a token, but its user is gone
        with platform_access(reason="test: remove a user"):  # a cross-company deletion
            User.objects.filter(pk=user.pk).delete()
    assert_error(api_client.post(REFRESH, {"refresh": token}, format="json"), 401, "invalid_token")


@pytest.mark.django_db
def test_verify_accepts_a_good_token_and_refuses_a_forged_one(api_client, owner) -> None:
    access = tokens_for(user=owner, company=None)["access"]
    assert data(api_client.post(VERIFY, {"token": access}, format="json")) == {"valid": True}
    forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    assert_error(api_client.post(VERIFY, {"token": forged}, format="json"), 401, "invalid_token")


# -- tokens on the protected endpoints ------------------------------------------------------


@pytest.mark.django_db
def test_an_expired_access_token_gets_401(company, owner) -> None:
    token = AccessToken.for_user(owner)
    token["company"] = str(company.public_id)
    token.set_exp(lifetime=-timedelta(seconds=1))
    error = assert_error(bearer(str(token)).get(ME), 401, "invalid_token")
    assert "expired" in error["message"]


@pytest.mark.django_db
def test_a_forged_access_token_gets_401(company, owner) -> None:
    token = AccessToken.for_user(owner)
    token["company"] = str(company.public_id)
    header, payload, _signature = str(token).split(".")
    assert_error(
        bearer(f"{header}.{payload}.c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ").get(ME), 401, "invalid_token"
    )


@pytest.mark.django_db
def test_a_token_signed_with_another_key_gets_401(company, owner) -> None:
    from rest_framework_simplejwt.backends import TokenBackend

    payload = dict(AccessToken.for_user(owner).payload)
    forged = TokenBackend("HS256", signing_key="guessed-" * 8).encode(payload)
    assert_error(bearer(forged).get(CURRENT), 401, "invalid_token")


@pytest.mark.django_db
def test_no_token_gets_401(api_client) -> None:
    assert_error(api_client.get(ME), 401, "not_authenticated")


@pytest.mark.django_db
def test_a_token_for_a_company_the_user_is_not_in_gets_403(owner, other_company) -> None:
    client = authenticated_client(owner, other_company)
    assert_error(client.get(CURRENT), 403, "not_a_member")
    before = counts()
    assert_error(client.patch(CURRENT, {"legal_name": "Mine"}, format="json"), 403, "not_a_member")
    assert counts() == before


@pytest.mark.django_db
def test_a_removed_members_token_stops_working(company, owner) -> None:
    sales = member(company, Role.SALES)
    client = authenticated_client(sales, company)
    assert client.get(CURRENT).status_code == 200
    services.membership_remove(membership=membership_of(company, sales), actor=owner)
    assert_error(client.get(CURRENT), 403, "not_a_member")


# -- switch-company and me ------------------------------------------------------------------


@pytest.mark.django_db
def test_switch_company_gives_tokens_for_another_of_my_companies(
    company, other_company, owner, owner_client
) -> None:
    MembershipFactory(company=other_company, user=owner, role=Role.FINANCE)
    tokens = data(owner_client.post(SWITCH, {"company": str(other_company.public_id)}))
    current = data(bearer(tokens["access"]).get(CURRENT))
    assert current["id"] == str(other_company.public_id)


@pytest.mark.django_db
def test_switch_company_refuses_a_company_i_am_not_in(owner_client, other_company) -> None:
    response = owner_client.post(SWITCH, {"company": str(other_company.public_id)})
    assert_error(response, 403, "not_a_member")


@pytest.mark.django_db
def test_switch_company_moves_a_browser_session_too(company, other_company, owner) -> None:
    MembershipFactory(company=other_company, user=owner, role=Role.ADMIN)
    client = APIClient()
    client.force_login(owner)
    assert data(client.get(CURRENT))["id"] == str(company.public_id)
    data(client.post(SWITCH, {"company": str(other_company.public_id)}, format="json"))
    assert client.session[SESSION_COMPANY_KEY] == str(other_company.public_id)
    assert data(client.get(CURRENT))["id"] == str(other_company.public_id)


@pytest.mark.django_db
def test_me_shows_the_user_the_active_company_and_every_company_with_role(
    company, other_company, owner, owner_client
) -> None:
    MembershipFactory(company=other_company, user=owner, role=Role.WAREHOUSE)
    me = data(owner_client.get(ME))
    assert me["user"] == {
        "id": str(owner.public_id),
        "email": "owner@kopitest.example",
        "full_name": owner.full_name,
    }
    assert me["active_company"] == {
        "id": str(company.public_id),
        "legal_name": "Kopi Test Pte. Ltd.",
        "shop_slug": company.shop_slug,
        "role": "owner",
    }
    assert [(c["legal_name"], c["role"]) for c in me["companies"]] == [
        ("Kopi Test Pte. Ltd.", "owner"),
        ("Other Brew Pte. Ltd.", "warehouse"),
    ]


@pytest.mark.django_db
def test_me_for_a_user_without_a_company(api_client) -> None:
    me = data(authenticated_client(UserFactory(), None).get(ME))
    assert me["active_company"] is None
    assert me["companies"] == []


# -- companies ------------------------------------------------------------------------------


def onboarding(**fields) -> dict:
    return {"legal_name": "Lion Brew Pte. Ltd.", "uen": valid_uen(), **fields}


@pytest.mark.django_db
def test_a_new_user_onboards_a_company_and_becomes_its_owner() -> None:
    user = UserFactory()
    client = authenticated_client(user, None)
    body = onboarding(gst_registered=True, gst_number="M90312345A", postal_code="059413")
    created = data(client.post(COMPANIES, body, format="json"), 201)
    assert created["uen"] == body["uen"]
    assert created["shop_slug"] == "lion-brew"
    assert (created["currency"], created["timezone"]) == ("SGD", "Asia/Singapore")
    assert "pk" not in created
    assert "id" in created
    tokens = data(client.post(SWITCH, {"company": created["id"]}, format="json"))
    me = data(bearer(tokens["access"]).get(ME))
    assert me["active_company"]["role"] == "owner"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (onboarding(uen="201912345A"), 400, "invalid_uen", "check letter"),
        (onboarding(uen="12"), 400, "invalid_uen", "9 or 10 characters"),
        (onboarding(gst_registered=True), 400, "gst_number_required", "GST registration number"),
        (onboarding(gst_period_start_month=0), 400, "invalid", "greater than or equal to 1"),
        (onboarding(country="MY"), 400, "invalid", "not accepted"),
        ({"uen": valid_uen()}, 400, "invalid", "required"),
    ],
)
def test_onboarding_refuses_bad_input_and_writes_nothing(
    body: dict, status: int, code: str, words: str
) -> None:
    client = authenticated_client(UserFactory(), None)
    before = counts()
    error = assert_error(client.post(COMPANIES, body, format="json"), status, code)
    assert words in error["message"]
    assert counts() == before


@pytest.mark.django_db
def test_onboarding_refuses_a_uen_already_registered(company) -> None:
    client = authenticated_client(UserFactory(), None)
    before = counts()
    response = client.post(COMPANIES, onboarding(uen=company.uen.lower()), format="json")
    error = assert_error(response, 409, "uen_taken")
    assert "already registered" in error["message"]
    assert counts() == before


@pytest.mark.django_db
def test_onboarding_needs_a_signed_in_user(api_client) -> None:
    before = counts()
    assert_error(api_client.post(COMPANIES, onboarding(), format="json"), 401, "not_authenticated")
    assert counts() == before


@pytest.mark.django_db
def test_current_company_without_one_says_to_choose_a_company() -> None:
    error = assert_error(
        authenticated_client(UserFactory(), None).get(CURRENT), 403, "permission_denied"
    )
    assert "not working in a company" in error["message"]


@pytest.mark.django_db
def test_patch_current_company_changes_it(company, owner_client) -> None:
    changed = data(owner_client.patch(CURRENT, {"legal_name": "Kopi Test Holdings Pte. Ltd."}))
    assert changed["legal_name"] == "Kopi Test Holdings Pte. Ltd."
    company.refresh_from_db()
    assert company.legal_name == "Kopi Test Holdings Pte. Ltd."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"uen": "201912345K"}, "invalid"),
        ({"postal_code": "12AB56"}, "invalid"),
        ({"gst_registered": True}, "gst_number_required"),
        ({"shop_slug": "-bad-"}, "invalid_shop_slug"),
        ({"gst_period": "weekly"}, "invalid"),
    ],
)
def test_patch_current_company_refuses_bad_input(company, owner_client, body, code) -> None:
    before = counts()
    assert_error(owner_client.patch(CURRENT, body, format="json"), 400, code)
    assert counts() == before
    assert Company.objects.get(pk=company.pk).legal_name == company.legal_name


@pytest.mark.django_db
def test_patch_current_company_refuses_a_taken_shop_slug(company, owner_client) -> None:
    CompanyFactory(shop_slug="taken-shop")
    assert_error(owner_client.patch(CURRENT, {"shop_slug": "taken-shop"}), 409, "shop_slug_taken")


# -- memberships ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_memberships_list_is_paginated(company, owner, owner_client) -> None:
    for _ in range(3):
        member(company, Role.SALES)
    response = owner_client.get(MEMBERSHIPS, {"per_page": 2})
    body = response.json()
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 2, "total": 4, "pages": 2}
    assert body["data"][0]["user"]["email"] == owner.email
    assert body["data"][0]["role"] == "owner"


@pytest.mark.django_db
def test_memberships_list_shows_only_this_company(company, other_company, owner_client) -> None:
    outsider = member(other_company, Role.OWNER)
    emails = [m["user"]["email"] for m in data(owner_client.get(MEMBERSHIPS))]
    assert outsider.email not in emails


@pytest.mark.django_db
def test_change_a_members_role_and_remove_them(company, owner_client) -> None:
    sales = member(company, Role.SALES)
    target = membership_of(company, sales)
    url = f"{MEMBERSHIPS}/{target.public_id}"
    assert data(owner_client.patch(url, {"role": "finance"}, format="json"))["role"] == "finance"
    response = owner_client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    with tenant_context(company):
        assert not Membership.objects.filter(user=sales).exists()


@pytest.mark.django_db
def test_membership_endpoints_refuse_bad_input_and_other_companies(
    company, other_company, owner, owner_client
) -> None:
    theirs = membership_of(other_company, member(other_company, Role.SALES))
    mine = membership_of(company, owner)
    before = counts()
    assert_error(
        owner_client.patch(f"{MEMBERSHIPS}/{theirs.public_id}", {"role": "sales"}), 404, "not_found"
    )
    assert_error(owner_client.delete(f"{MEMBERSHIPS}/{theirs.public_id}"), 404, "not_found")
    assert_error(owner_client.delete(f"{MEMBERSHIPS}/not-a-uuid"), 404, "not_found")
    assert_error(
        owner_client.patch(f"{MEMBERSHIPS}/{mine.public_id}", {"role": "boss"}), 400, "invalid"
    )
    # Nobody changes their own role, the last owner included.
    assert_error(
        owner_client.patch(f"{MEMBERSHIPS}/{mine.public_id}", {"role": "admin"}), 403, "own_role"
    )
    assert_error(owner_client.delete(f"{MEMBERSHIPS}/{mine.public_id}"), 409, "last_owner")
    assert counts() == before


@pytest.mark.django_db
def test_an_admin_cannot_make_an_owner_through_the_api(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    target = membership_of(company, member(company, Role.SALES))
    response = authenticated_client(admin, company).patch(
        f"{MEMBERSHIPS}/{target.public_id}", {"role": "owner"}, format="json"
    )
    error = assert_error(response, 403, "owner_only")
    assert "Only an owner" in error["message"]


# -- invitations ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_invite_list_revoke(company, owner_client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = data(
            owner_client.post(INVITATIONS, {"email": "hire@example.com", "role": "sales"}), 201
        )
    assert created["status"] == "pending"
    assert created["invited_by"] == "owner@kopitest.example"
    assert "token" not in created
    assert "token_hash" not in created
    [email] = mail.outbox
    assert f"/invitations/{company.public_id}/" in email.body
    listed = owner_client.get(INVITATIONS).json()
    assert [i["id"] for i in listed["data"]] == [created["id"]]
    assert listed["meta"]["pagination"]["total"] == 1
    assert owner_client.delete(f"{INVITATIONS}/{created['id']}").status_code == 204
    assert data(owner_client.get(INVITATIONS))[0]["status"] == "revoked"
    assert_error(owner_client.delete(f"{INVITATIONS}/{created['id']}"), 409, "invitation_revoked")


@pytest.mark.django_db
def test_the_invited_person_accepts_through_the_api(company, owner) -> None:
    _, token = services.invitation_create(
        company=company, invited_by=owner, email="joiner@example.com", role=Role.FINANCE
    )
    joiner = UserFactory(email="joiner@example.com")
    client = authenticated_client(joiner, None)
    joined = data(
        client.post(ACCEPT, {"company": str(company.public_id), "token": token}, format="json"),
        201,
    )
    assert joined == {
        "id": str(company.public_id),
        "legal_name": company.legal_name,
        "shop_slug": company.shop_slug,
        "role": "finance",
    }
    assert [c["role"] for c in data(client.get(ME))["companies"]] == ["finance"]


@pytest.mark.django_db
def test_invitation_accept_refuses_bad_tokens_and_other_people(company, owner) -> None:
    invitation, token = services.invitation_create(
        company=company, invited_by=owner, email="joiner@example.com", role=Role.SALES
    )
    stranger = authenticated_client(UserFactory(email="stranger@example.com"), None)
    before = counts()
    body = {"company": str(company.public_id), "token": token}
    assert_error(stranger.post(ACCEPT, body, format="json"), 403, "invitation_email_mismatch")
    assert_error(
        stranger.post(ACCEPT, {**body, "token": "guess"}, format="json"),
        404,
        "invitation_not_found",
    )
    assert_error(stranger.post(ACCEPT, {**body, "extra": 1}, format="json"), 400, "invalid")
    assert_error(APIClient().post(ACCEPT, body, format="json"), 401, "not_authenticated")
    assert counts() == before
    with tenant_context(company):
        assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


@pytest.mark.django_db
def test_invite_refuses_bad_input(company, owner_client) -> None:
    before = counts()
    assert_error(owner_client.post(INVITATIONS, {"email": "x", "role": "sales"}), 400, "invalid")
    assert_error(
        owner_client.post(INVITATIONS, {"email": "a@example.com", "role": "ceo"}), 400, "invalid"
    )
    assert_error(
        owner_client.post(
            INVITATIONS, {"email": "owner@kopitest.example", "role": "sales"}, format="json"
        ),
        409,
        "already_member",
    )
    assert_error(owner_client.delete(f"{INVITATIONS}/nope"), 404, "not_found")
    assert counts() == before


@pytest.mark.django_db
def test_every_error_body_is_json_not_html(api_client) -> None:
    response = api_client.post(TOKEN, "email=a", content_type="application/x-www-form-urlencoded")
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["status"] == "error"

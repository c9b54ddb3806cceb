"""The onboarding and team pages, through Django's test client."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Location
from pasar.tenancy.middleware import SESSION_COMPANY_KEY
from pasar.tenancy.models import Company, Membership, Role, User
from pasar.tenancy.permissions import can
from tests.conftest import member
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    LocationFactory,
    MembershipFactory,
    UserFactory,
    valid_uen,
)

pytestmark = pytest.mark.django_db

WRONG_CHECK_LETTER = "That UEN's check letter is wrong; check it against your ACRA record."


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def company_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "legal_name": "Teh Tarik Trading Pte. Ltd.",
        "uen": valid_uen(),
        "gst_period": "quarterly",
        "gst_period_start_month": "1",
        "address_line1": "1 Kim Seng Road",
        "postal_code": "239440",
        "shop_slug": "",
    }
    data.update(overrides)
    return data


def wrong_check_letter(uen: str) -> str:
    return uen[:-1] + ("A" if uen[-1] != "A" else "B")


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# -- sign up, sign in, sign out ---------------------------------------------------------------


def test_signup_signs_the_person_in_and_goes_to_company_onboarding() -> None:
    client = Client()
    response = client.post(
        reverse("tenancy:signup"),
        {"email": "Ah.Hock@Example.com", "full_name": "Tan Ah Hock", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("tenancy:onboarding_company")
    user = User.objects.get(email="ah.hock@example.com")
    assert user.full_name == "Tan Ah Hock"
    assert client.get(reverse("tenancy:onboarding_company")).status_code == 200


def test_signup_shows_the_password_validators_sentences_and_creates_nobody() -> None:
    response = Client().post(
        reverse("tenancy:signup"),
        {"email": "short@example.com", "full_name": "Short Pass", "password": "12345"},
    )
    assert response.status_code == 200
    page = text(response)
    assert "This password is too short. It must contain at least 10 characters." in page
    assert "This password is entirely numeric." in page
    assert 'id="id_password_error"' in page
    assert not User.objects.filter(email="short@example.com").exists()


def test_signup_with_a_taken_email_says_so_next_to_the_email() -> None:
    UserFactory(email="taken@example.com")
    response = Client().post(
        reverse("tenancy:signup"),
        {"email": "taken@example.com", "full_name": "Someone", "password": PASSWORD},
    )
    assert response.status_code == 200
    assert "already exists; sign in instead" in text(response)
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_login_with_the_right_password_lands_in_the_back_office(owner: User) -> None:
    client = Client()
    response = client.post(
        reverse("tenancy:login"), {"email": "OWNER@kopitest.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:home")
    assert client.get(reverse("backoffice:home")).status_code == 200


def test_login_with_a_wrong_password_says_so_in_a_sentence(owner: User) -> None:
    response = Client().post(
        reverse("tenancy:login"), {"email": owner.email, "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert "That email and password do not match an account" in text(response)


def test_login_follows_next_only_within_the_site(owner: User) -> None:
    client = Client()
    response = client.post(
        reverse("tenancy:login") + "?next=https://evil.example/",
        {"email": owner.email, "password": PASSWORD},
    )
    assert response["Location"] == reverse("backoffice:home")


def test_repeated_wrong_passwords_lock_the_account_with_a_page(settings, owner: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("tenancy:login"), {"email": owner.email, "password": "x"})
        assert response.status_code == 200
    response = client.post(reverse("tenancy:login"), {"email": owner.email, "password": "x"})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed sign-in attempts" in text(response)
    # Locked: even the right password is refused until the cool-off ends.
    response = client.post(reverse("tenancy:login"), {"email": owner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_logout_takes_a_post_only(owner: User) -> None:
    client = signed_in(owner)
    assert client.get(reverse("tenancy:logout")).status_code == 405
    response = client.post(reverse("tenancy:logout"))
    assert response["Location"] == reverse("tenancy:login")
    assert client.get(reverse("backoffice:home"))["Location"].startswith(reverse("tenancy:login"))


# -- onboarding ------------------------------------------------------------------------------


def test_onboarding_needs_a_signed_in_person() -> None:
    response = Client().get(reverse("tenancy:onboarding_company"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("tenancy:login"))


def test_a_uen_with_a_wrong_check_letter_shows_the_sentence_and_writes_nothing() -> None:
    client = signed_in(UserFactory())
    response = client.post(
        reverse("tenancy:onboarding_company"), company_form(uen=wrong_check_letter(valid_uen()))
    )
    assert response.status_code == 200
    page = text(response)
    assert WRONG_CHECK_LETTER.replace("'", "&#x27;") in page
    assert 'id="id_uen_error"' in page
    assert not Company.objects.exists()


@pytest.mark.parametrize(
    ("uen", "sentence"),
    [
        ("2019", "A UEN has 9 or 10 characters"),
        ("201912345", "That UEN has letters or digits in the wrong places."),
        ("ABCDEFGHIJ", "That UEN has an unknown entity type or a year in the future."),
    ],
)
def test_each_kind_of_bad_uen_gets_its_own_sentence(uen: str, sentence: str) -> None:
    response = signed_in(UserFactory()).post(
        reverse("tenancy:onboarding_company"), company_form(uen=uen)
    )
    assert sentence in text(response)
    assert not Company.objects.exists()


def test_a_uen_already_on_pasar_is_refused_next_to_the_field(company: Company) -> None:
    response = signed_in(UserFactory()).post(
        reverse("tenancy:onboarding_company"), company_form(uen=company.uen)
    )
    assert "A company with this UEN is already on Pasar" in text(response)
    assert Company.objects.count() == 1


def test_gst_registered_without_a_number_is_refused() -> None:
    response = signed_in(UserFactory()).post(
        reverse("tenancy:onboarding_company"), company_form(gst_registered="on", gst_number="")
    )
    assert "A GST-registered company needs its GST registration number." in text(response)
    assert not Company.objects.exists()


def test_onboarding_creates_the_company_with_its_owner_then_asks_for_a_location() -> None:
    person = UserFactory()
    client = signed_in(person)
    uen = valid_uen()
    response = client.post(
        reverse("tenancy:onboarding_company"),
        company_form(uen=uen.lower(), gst_registered="on", gst_number=uen, gst_period="monthly"),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:onboarding_location")
    company = Company.objects.get(uen=uen)
    assert (company.gst_registered, company.gst_number, company.gst_period) == (
        True,
        uen,
        "monthly",
    )
    assert company.shop_slug == "teh-tarik-trading"
    assert client.session[SESSION_COMPANY_KEY] == str(company.public_id)
    with tenant_context(company):
        assert Membership.objects.get().user == person
        assert Membership.objects.get().role == Role.OWNER

    response = client.post(
        reverse("inventory:onboarding_location"),
        {"name": "Kim Seng Outlet", "kind": "store", "postal_code": "239440"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:home")
    with tenant_context(company):
        assert list(Location.objects.values_list("name", "kind")) == [("Kim Seng Outlet", "store")]

    home = text(client.get(reverse("backoffice:home")))
    assert "Teh Tarik Trading Pte. Ltd." in home
    assert uen in home
    assert "Kim Seng Outlet" in home
    # The set-up checklist: the location is ticked, products are next (the owner's link).
    assert "Setting up Teh Tarik Trading Pte. Ltd." in home
    assert 'Where you keep stock<span class="visually-hidden"> (done)</span>' in home
    assert f'<a href="{reverse("catalog:product_list")}">Products</a>' in home


def test_a_location_name_used_twice_is_refused_next_to_the_name(owner: User, company) -> None:
    LocationFactory(company=company, name="Bugis Kiosk")
    response = signed_in(owner).post(
        reverse("inventory:onboarding_location"), {"name": "bugis kiosk", "kind": "store"}
    )
    assert response.status_code == 200
    assert "already used by another location" in text(response)
    with tenant_context(company):
        assert Location.objects.count() == 1


def test_the_location_step_without_a_company_goes_back_to_company_onboarding() -> None:
    response = signed_in(UserFactory()).get(reverse("inventory:onboarding_location"))
    assert response["Location"] == reverse("tenancy:onboarding_company")


# -- back office home and access -------------------------------------------------------------


def test_home_sends_visitors_to_sign_in() -> None:
    response = Client().get(reverse("backoffice:home"))
    assert response["Location"] == f"{reverse('tenancy:login')}?next={reverse('backoffice:home')}"


def test_home_sends_a_person_without_a_company_to_onboarding() -> None:
    response = signed_in(UserFactory()).get(reverse("backoffice:home"))
    assert response["Location"] == reverse("tenancy:onboarding_company")


def test_home_shows_only_the_active_company(owner: User, company, other_company) -> None:
    LocationFactory(company=company, name="Tiong Bahru")
    LocationFactory(company=other_company, name="Jurong Secret Store")
    page = text(signed_in(owner).get(reverse("backoffice:home")))
    assert company.legal_name in page
    assert company.uen in page
    assert "Tiong Bahru" in page
    assert other_company.legal_name not in page
    assert "Jurong Secret Store" not in page


@pytest.mark.parametrize("role", list(Role))
def test_pages_open_to_exactly_the_roles_the_permission_table_allows(company, role: Role) -> None:
    client = signed_in(member(company, role))
    pages = {
        reverse("backoffice:home"): "backoffice.view",
        reverse("backoffice:team"): "membership.view",
        reverse("inventory:onboarding_location"): "location.manage",
    }
    for url, action in pages.items():
        response = client.get(url)
        assert response.status_code == (200 if can(role, action) else 403), (url, role)
        if response.status_code == 403:
            assert "Your role in this company does not allow that." in text(response)


@pytest.mark.parametrize("role", [Role.FINANCE, Role.WAREHOUSE, Role.SALES])
def test_roles_without_the_right_cannot_invite_by_posting_directly(company, role: Role) -> None:
    response = signed_in(member(company, role)).post(
        reverse("backoffice:team_invite"), {"email": "new@example.com", "role": "sales"}
    )
    assert response.status_code == 403
    assert len(mail.outbox) == 0


def test_switching_company_only_to_a_company_the_person_belongs_to(
    owner: User, company, other_company
) -> None:
    client = signed_in(owner)
    response = client.post(reverse("tenancy:switch_company"), {"company": other_company.public_id})
    assert response.status_code == 403
    third = CompanyFactory(legal_name="Third Shop Pte. Ltd.")
    MembershipFactory(company=third, user=owner, role=Role.FINANCE)
    home = text(client.get(reverse("backoffice:home")))
    assert 'id="company-switcher"' in home  # two companies: the switcher shows
    response = client.post(reverse("tenancy:switch_company"), {"company": third.public_id})
    assert response["Location"] == reverse("backoffice:home")
    page = text(client.get(reverse("backoffice:home")))
    assert "Third Shop Pte. Ltd." in page
    assert "Finance" in page


# -- team and invitations --------------------------------------------------------------------


def test_an_invited_person_signs_up_from_the_link_and_joins_in_the_role(
    owner: User, company, django_capture_on_commit_callbacks
) -> None:
    owner_client = signed_in(owner)
    # The invitation email goes out once the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("backoffice:team_invite"), {"email": "newbie@example.com", "role": "sales"}
        )
    assert response["Location"] == reverse("backoffice:team")
    assert "newbie@example.com" in text(owner_client.get(reverse("backoffice:team")))
    link = re.search(r"https?://[^/\s]+(/invitations/\S+/)", mail.outbox[0].body)
    assert link is not None
    path = link.group(1)

    newcomer = Client()
    landing = text(newcomer.get(path))
    assert "Sign in" in landing
    assert "Create an account" in landing
    response = newcomer.post(
        f"{reverse('tenancy:signup')}?next={path}",
        {"email": "newbie@example.com", "full_name": "New Bie", "password": PASSWORD, "next": path},
    )
    assert response["Location"] == path
    response = newcomer.post(path)
    assert response["Location"] == reverse("backoffice:home")
    with tenant_context(company):
        assert Membership.objects.get(user__email="newbie@example.com").role == Role.SALES
    assert company.legal_name in text(newcomer.get(reverse("backoffice:home")))


def test_a_forged_invitation_link_explains_itself(company) -> None:
    client = signed_in(UserFactory())
    response = client.post(f"/invitations/{company.public_id}/not-a-real-token/")
    assert response.status_code == 404
    assert "This invitation link is not valid" in text(response)


def test_an_owner_changes_a_role_and_removes_a_member(owner: User, company) -> None:
    clerk = member(company, Role.SALES)
    with tenant_context(company):
        clerk_membership = Membership.objects.get(user=clerk)
    client = signed_in(owner)
    client.post(
        reverse("backoffice:member_change_role", args=[clerk_membership.public_id]),
        {"role": "warehouse"},
    )
    with tenant_context(company):
        assert Membership.objects.get(user=clerk).role == Role.WAREHOUSE
    client.post(reverse("backoffice:member_remove", args=[clerk_membership.public_id]))
    with tenant_context(company):
        assert not Membership.objects.filter(user=clerk).exists()


def test_removing_the_last_owner_is_refused_with_a_message(company) -> None:
    admin = member(company, Role.ADMIN)
    only_owner = member(company, Role.OWNER)
    with tenant_context(company):
        owner_membership = Membership.objects.get(user=only_owner)
    client = signed_in(admin)
    response = client.post(
        reverse("backoffice:member_remove", args=[owner_membership.public_id]), follow=True
    )
    assert "Only an owner can grant or remove the owner role." in text(response)
    with tenant_context(company):
        assert Membership.objects.filter(user=only_owner).exists()


# -- layout ----------------------------------------------------------------------------------


def test_pages_carry_no_inline_script_or_style_and_a_strict_csp(owner: User) -> None:
    client = signed_in(owner)
    for url in [reverse("backoffice:home"), reverse("backoffice:team")]:
        response = client.get(url)
        page = text(response)
        assert "<style" not in page
        assert not re.search(r"\sstyle=", page)
        assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
        assert scripts
        for attributes, body in scripts:
            assert "src=" in attributes
            assert "nonce=" in attributes
            assert not body.strip()
        csp = response["Content-Security-Policy"]
        assert "style-src 'self'" in csp
        assert '<meta name="viewport"' in page
        assert 'class="skip-link" href="#main"' in page


def test_the_uen_examples_shown_to_people_pass_the_uen_check() -> None:
    import re

    from stdnum.sg import uen

    from pasar.tenancy.forms import CompanyOnboardingForm

    field = CompanyOnboardingForm().fields["uen"]
    shown = f"{field.help_text} {field.error_messages['required']}"
    examples = re.findall(r"\b\d{8,9}[A-Z]\b|\b[TSR]\d{2}[A-Z]{2}\d{4}[A-Z]\b", shown)
    assert examples
    assert all(uen.is_valid(example) for example in examples), examples


def test_the_checklist_ticks_from_the_data_and_links_only_what_the_role_may_do(
    owner: User, company
) -> None:
    LocationFactory(company=company, name="Bugis Kiosk")
    home = text(signed_in(owner).get(reverse("backoffice:home")))
    assert 'Where you keep stock<span class="visually-hidden"> (done)</span>' in home
    assert f'<a href="{reverse("payments_office:gateway_settings")}">A payment gateway</a>' in home
    finance = member(company, Role.FINANCE)
    as_finance = text(signed_in(finance).get(reverse("backoffice:home")))
    checklist = as_finance.split('<ol class="checklist">')[1].split("</ol>")[0]
    # Finance may not add products or gateways: the steps are named, not linked.
    assert "Products" in checklist
    assert f'href="{reverse("catalog:product_list")}"' not in checklist
    assert "Someone with another role does this." in checklist


def test_the_company_s_details_are_changed_by_managers_only(owner: User, company) -> None:
    url = reverse("tenancy:company_settings")
    form = {
        "legal_name": company.legal_name,
        "gst_period": "quarterly",
        "gst_period_start_month": "1",
        "address_line1": "8 Tiong Bahru Road",
        "address_line2": "#01-02",
        "postal_code": "168898",
        "shop_slug": company.shop_slug,
    }
    bad = signed_in(owner).post(url, {**form, "postal_code": "12"})
    assert bad.status_code == 400
    assert signed_in(owner).post(url, form).status_code == 302
    company.refresh_from_db()
    assert (company.address_line1, company.postal_code) == ("8 Tiong Bahru Road", "168898")
    sales = signed_in(member(company, Role.SALES))
    assert "Only the owner, admins and managers change these." in text(sales.get(url))
    assert sales.post(url, {**form, "legal_name": "Taken Over Pte. Ltd."}).status_code == 403
    company.refresh_from_db()
    assert company.legal_name != "Taken Over Pte. Ltd."

"""The tenancy services: people, companies, memberships, invitations and shoppers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.sg import uen as stdnum_uen

from pasar.core.errors import Conflict, DomainError, Forbidden
from pasar.core.models import AuditEntry, OutboxEvent
from pasar.core.tenant import system_access, tenant_context
from pasar.tenancy import services
from pasar.tenancy.models import Company, Invitation, Membership, Role, Shopper, User
from tests.conftest import member
from tests.factories import (
    PASSWORD,
    CompanyFactory,
    MembershipFactory,
    UserFactory,
    valid_uen,
)

STRONG_PASSWORD = "teh-tarik-kosong-88"


def counts() -> dict[str, int]:
    """How many rows each table the services write holds, across every company."""
    with system_access(reason="test: count what a refused request left behind"):
        return {
            model.__name__: model._default_manager.count()
            for model in (User, Company, Membership, Invitation, Shopper, AuditEntry, OutboxEvent)
        }


def onboard(owner: User, **fields) -> Company:
    fields.setdefault("legal_name", "Kopi Kakis Pte. Ltd.")
    fields.setdefault("uen", valid_uen())
    return services.company_onboard(owner=owner, **fields)


def role_in(company: Company, user: User) -> str | None:
    with tenant_context(company):
        return Membership.objects.filter(user=user).values_list("role", flat=True).first()


def membership_of(company: Company, user: User) -> Membership:
    with tenant_context(company):
        return Membership.objects.get(user=user)


def events(company: Company, topic: str) -> list[OutboxEvent]:
    with tenant_context(company):
        return list(OutboxEvent.objects.filter(company=company, topic=topic))


def audit_actions(company: Company) -> list[str]:
    with tenant_context(company):
        return list(
            AuditEntry.objects.filter(company=company)
            .order_by("sequence")
            .values_list("action", flat=True)
        )


# -- people ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.argon2
def test_user_register_stores_an_argon2_hash_and_a_lowercase_email() -> None:
    user = services.user_register(
        email="  Siew.Ling@Example.COM ", password=STRONG_PASSWORD, full_name=" Siew Ling "
    )
    assert user.email == "siew.ling@example.com"
    assert user.full_name == "Siew Ling"
    assert user.password.startswith("argon2")
    assert user.check_password(STRONG_PASSWORD)


@pytest.mark.django_db
def test_user_register_refuses_an_email_already_signed_up() -> None:
    UserFactory(email="ah.huat@example.com")
    before = counts()
    with pytest.raises(Conflict) as refused:
        services.user_register(email="AH.HUAT@example.com", password=STRONG_PASSWORD)
    assert refused.value.code == "email_taken"
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("8204719365", "entirely numeric"),
        ("meiling.tan", "too similar"),
    ],
)
def test_user_register_refuses_a_weak_password_saying_why(password: str, reason: str) -> None:
    before = counts()
    with pytest.raises(DomainError) as refused:
        services.user_register(email="meiling.tan@example.com", password=password)
    assert refused.value.code == "weak_password"
    assert reason in refused.value.message
    assert refused.value.details[0]["field"] == "password"
    assert counts() == before


@pytest.mark.django_db
def test_user_register_refuses_an_address_that_is_not_email() -> None:
    with pytest.raises(DomainError) as refused:
        services.user_register(email="not-an-email", password=STRONG_PASSWORD)
    assert refused.value.code == "invalid_email"


# -- companies ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_company_onboard_makes_the_company_its_owner_an_audit_trail_and_an_event() -> None:
    owner = UserFactory()
    uen = valid_uen()
    company = onboard(owner, uen=f"  {uen.lower()} ")
    assert company.uen == uen
    assert company.shop_slug == "kopi-kakis"
    assert (company.country, company.timezone, company.currency) == ("SG", "Asia/Singapore", "SGD")
    assert role_in(company, owner) == Role.OWNER
    assert audit_actions(company) == ["company.created", "membership.created"]
    [event] = events(company, "company.created")
    assert event.payload["uen"] == company.uen
    assert event.payload["owner"] == str(owner.public_id)


@pytest.mark.django_db
def test_company_onboard_refuses_a_uen_already_on_the_platform_in_any_spelling() -> None:
    uen = valid_uen()
    onboard(UserFactory(), uen=uen)
    copycat = UserFactory()
    before = counts()
    with pytest.raises(Conflict) as refused:
        onboard(copycat, legal_name="Copycat Pte. Ltd.", uen=f" {uen.lower()} ")
    assert refused.value.code == "uen_taken"
    assert "already registered" in refused.value.message
    assert counts() == before


@pytest.mark.django_db
def test_company_onboard_refuses_a_uen_with_a_wrong_check_letter() -> None:
    uen = valid_uen()
    wrong = uen[:-1] + ("A" if uen[-1] != "A" else "B")
    owner = UserFactory()
    before = counts()
    with pytest.raises(DomainError) as refused:
        onboard(owner, uen=wrong)
    assert refused.value.code == "invalid_uen"
    assert "check letter" in refused.value.message
    assert refused.value.details[0]["field"] == "uen"
    assert counts() == before


@pytest.mark.django_db
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    uen=st.one_of(
        st.text(max_size=14),
        st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ -", min_size=8, max_size=11),
        st.from_regex(r"\A(19|20)[0-9]{7}[A-Z]\Z"),
    )
)
def test_company_onboard_refuses_every_uen_python_stdnum_rejects(uen: str) -> None:
    if stdnum_uen.is_valid(uen):
        return
    owner = User.objects.get_or_create(email="prop@example.com")[0]
    before = counts()
    with pytest.raises(DomainError) as refused:
        onboard(owner, uen=uen)
    assert refused.value.code == "invalid_uen"
    assert refused.value.message
    assert counts() == before


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(serial=st.integers(min_value=0, max_value=99999), year=st.integers(1990, 2024))
def test_company_onboard_accepts_every_local_company_uen_with_a_right_check_letter(
    serial: int, year: int
) -> None:
    body = f"{year}{serial:05d}"
    uen = body + stdnum_uen.calc_local_company_check_digit(body + "0")
    if Company.objects.filter(uen=uen).exists():
        return
    owner = User.objects.get_or_create(email="prop@example.com")[0]
    company = onboard(owner, uen=uen.lower())
    assert company.uen == uen


@pytest.mark.django_db
def test_company_onboard_needs_the_gst_number_of_a_gst_registered_company() -> None:
    owner = UserFactory()
    before = counts()
    with pytest.raises(DomainError) as refused:
        onboard(owner, gst_registered=True, gst_number="")
    assert refused.value.code == "gst_number_required"
    assert counts() == before
    company = onboard(UserFactory(), gst_registered=True, gst_number="m9-0312345-a")
    assert company.gst_number == "M90312345A"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"gst_registered": False, "gst_number": "M90312345A"}, "gst_number_unexpected"),
        ({"gst_registered": True, "gst_number": "12"}, "invalid_gst_number"),
        ({"legal_name": "   "}, "required"),
        ({"gst_period_start_month": 13}, "invalid_month"),
        ({"postal_code": "12345"}, "invalid"),
        ({"gst_period": "yearly"}, "invalid"),
        ({"shop_slug": "Kopi Kakis!"}, "invalid_shop_slug"),
    ],
)
def test_company_onboard_refuses_bad_details_and_writes_nothing(fields: dict, code: str) -> None:
    owner = UserFactory()
    before = counts()
    with pytest.raises(DomainError) as refused:
        onboard(owner, **fields)
    assert refused.value.code == code
    assert refused.value.status == 400
    assert counts() == before


@pytest.mark.django_db
def test_company_onboard_numbers_a_derived_shop_slug_that_is_taken() -> None:
    first = onboard(UserFactory(), legal_name="Lion Brew Pte. Ltd.")
    second = onboard(UserFactory(), legal_name="Lion Brew Private Limited")
    assert (first.shop_slug, second.shop_slug) == ("lion-brew", "lion-brew-2")


@pytest.mark.django_db
def test_company_onboard_falls_back_to_the_uen_when_the_name_gives_no_slug() -> None:
    uen = valid_uen()
    company = onboard(UserFactory(), legal_name="咖啡店 Pte. Ltd.", uen=uen)
    assert company.shop_slug == uen.lower()


@pytest.mark.django_db
def test_company_onboard_refuses_a_chosen_shop_slug_that_is_taken() -> None:
    onboard(UserFactory(), shop_slug="kopi-kakis")
    owner = UserFactory()
    before = counts()
    with pytest.raises(Conflict) as refused:
        onboard(owner, legal_name="Other Pte. Ltd.", shop_slug="Kopi-Kakis")
    assert refused.value.code == "shop_slug_taken"
    assert counts() == before


@pytest.mark.django_db
def test_an_owner_of_one_company_can_onboard_another_from_inside_its_context(
    company, owner
) -> None:
    with tenant_context(company, user=owner):
        second = onboard(owner, legal_name="Second Shop Pte. Ltd.")
    assert role_in(second, owner) == Role.OWNER
    assert role_in(company, owner) == Role.OWNER


@pytest.mark.django_db
def test_company_update_changes_details_and_audits_before_and_after(company, owner) -> None:
    updated = services.company_update(
        company=company,
        actor=owner,
        legal_name="Kopi Test Holdings Pte. Ltd.",
        postal_code="168732",
    )
    assert updated.legal_name == "Kopi Test Holdings Pte. Ltd."
    with tenant_context(company):
        entry = AuditEntry.objects.get(company=company, action="company.updated")
    assert entry.changes["legal_name"] == ["Kopi Test Pte. Ltd.", "Kopi Test Holdings Pte. Ltd."]
    assert entry.changes["postal_code"] == ["", "168732"]
    assert len(events(company, "company.updated")) == 1


@pytest.mark.django_db
def test_company_update_leaving_gst_registration_drops_the_number(company, owner) -> None:
    services.company_update(
        company=company, actor=owner, gst_registered=True, gst_number="M90312345A"
    )
    updated = services.company_update(company=company, actor=owner, gst_registered=False)
    assert (updated.gst_registered, updated.gst_number) == (False, "")


@pytest.mark.django_db
def test_company_update_refuses_roles_without_the_right_and_the_uen(company, owner) -> None:
    finance = member(company, Role.FINANCE)
    before = counts()
    with pytest.raises(Forbidden):
        services.company_update(company=company, actor=finance, legal_name="Mine Pte. Ltd.")
    with pytest.raises(DomainError) as refused:
        services.company_update(company=company, actor=owner, uen=valid_uen())
    assert refused.value.code == "read_only"
    assert counts() == before
    company.refresh_from_db()
    assert company.legal_name == "Kopi Test Pte. Ltd."


@pytest.mark.django_db
def test_company_update_refuses_an_outsider(company, other_company) -> None:
    outsider = member(other_company, Role.OWNER)
    with pytest.raises(Forbidden):
        services.company_update(company=company, actor=outsider, legal_name="Taken Pte. Ltd.")


# -- memberships ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_changes_a_members_role_with_audit_and_event(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    sales = member(company, Role.SALES)
    changed = services.membership_change_role(
        membership=membership_of(company, sales), role=Role.WAREHOUSE, actor=admin
    )
    assert changed.role == Role.WAREHOUSE
    assert role_in(company, sales) == Role.WAREHOUSE
    assert "membership.role_changed" in audit_actions(company)
    [event] = events(company, "membership.role_changed")
    assert (event.payload["from"], event.payload["to"]) == ("sales", "warehouse")


@pytest.mark.django_db
def test_nobody_changes_their_own_role(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    second_owner = member(company, Role.OWNER)
    before = counts()
    for actor, role in ((admin, Role.FINANCE), (admin, Role.SALES), (second_owner, Role.ADMIN)):
        with pytest.raises(Forbidden) as refused:
            services.membership_change_role(
                membership=membership_of(company, actor), role=role, actor=actor
            )
        assert refused.value.code == "own_role"
    assert counts() == before
    assert role_in(company, admin) == Role.ADMIN


@pytest.mark.django_db
def test_only_an_owner_grants_a_role_that_refunds_or_changes_gateways(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    sales = member(company, Role.SALES)
    before = counts()
    with pytest.raises(Forbidden) as refused:
        services.membership_change_role(
            membership=membership_of(company, sales), role=Role.FINANCE, actor=admin
        )
    assert refused.value.code == "owner_only"
    with pytest.raises(Forbidden) as refused:
        services.invitation_create(
            company=company, invited_by=admin, email="books@example.com", role=Role.FINANCE
        )
    assert refused.value.code == "owner_only"
    assert counts() == before
    services.membership_change_role(
        membership=membership_of(company, sales), role=Role.FINANCE, actor=owner
    )
    assert role_in(company, sales) == Role.FINANCE


@pytest.mark.django_db
def test_an_invitation_to_finance_from_a_non_owner_grants_nothing(company, owner) -> None:
    # Sent by an owner who has since been made an admin: the link no longer grants refunds.
    inviter = member(company, Role.OWNER)
    _, token = services.invitation_create(
        company=company, invited_by=inviter, email="books@example.com", role=Role.FINANCE
    )
    services.membership_change_role(
        membership=membership_of(company, inviter), role=Role.ADMIN, actor=owner
    )
    joiner = UserFactory(email="books@example.com")
    with pytest.raises(Forbidden) as refused:
        services.invitation_accept(
            company_public_id=str(company.public_id), token=token, user=joiner
        )
    assert refused.value.code == "owner_only"
    assert role_in(company, joiner) is None


def test_gateway_changes_and_refunds_are_granted_by_owners_alone() -> None:
    from pasar.tenancy.permissions import PERMISSIONS, roles_only_owners_grant

    assert PERMISSIONS["gateway.manage"] == {Role.OWNER}
    assert Role.ADMIN not in roles_only_owners_grant()
    assert roles_only_owners_grant() >= {Role.OWNER, Role.FINANCE}


@pytest.mark.django_db
def test_only_an_owner_grants_the_owner_role(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    sales = member(company, Role.SALES)
    before = counts()
    with pytest.raises(Forbidden) as refused:
        services.membership_change_role(
            membership=membership_of(company, sales), role=Role.OWNER, actor=admin
        )
    assert refused.value.code == "owner_only"
    assert counts() == before
    services.membership_change_role(
        membership=membership_of(company, sales), role=Role.OWNER, actor=owner
    )
    assert role_in(company, sales) == Role.OWNER


@pytest.mark.django_db
def test_only_an_owner_removes_the_owner_role(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    second_owner = member(company, Role.OWNER)
    with pytest.raises(Forbidden):
        services.membership_change_role(
            membership=membership_of(company, second_owner), role=Role.SALES, actor=admin
        )
    with pytest.raises(Forbidden):
        services.membership_remove(membership=membership_of(company, second_owner), actor=admin)
    assert role_in(company, second_owner) == Role.OWNER


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(company, owner) -> None:
    before = counts()
    # Nobody changes their own role, the last owner included ...
    with pytest.raises(Forbidden) as refused:
        services.membership_change_role(
            membership=membership_of(company, owner), role=Role.ADMIN, actor=owner
        )
    assert refused.value.code == "own_role"
    # ... and the last owner cannot leave.
    with pytest.raises(Conflict) as conflict:
        services.membership_remove(membership=membership_of(company, owner), actor=owner)
    assert conflict.value.code == "last_owner"
    assert counts() == before
    assert role_in(company, owner) == Role.OWNER


@pytest.mark.django_db
def test_an_owner_may_step_down_while_another_owner_remains(company, owner) -> None:
    other_owner = member(company, Role.OWNER)
    services.membership_change_role(
        membership=membership_of(company, owner), role=Role.ADMIN, actor=other_owner
    )
    assert role_in(company, owner) == Role.ADMIN


@pytest.mark.django_db
def test_membership_remove_takes_the_person_out(company, owner) -> None:
    sales = member(company, Role.SALES)
    services.membership_remove(membership=membership_of(company, sales), actor=owner)
    assert role_in(company, sales) is None
    assert len(events(company, "membership.removed")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FINANCE, Role.WAREHOUSE, Role.SALES])
def test_roles_without_membership_manage_change_nothing(company, owner, role: str) -> None:
    actor = member(company, role)
    sales = member(company, Role.SALES)
    before = counts()
    with pytest.raises(Forbidden):
        services.membership_change_role(
            membership=membership_of(company, sales), role=Role.FINANCE, actor=actor
        )
    with pytest.raises(Forbidden):
        services.membership_remove(membership=membership_of(company, sales), actor=actor)
    assert counts() == before


@pytest.mark.django_db
def test_membership_change_role_refuses_an_unknown_role(company, owner) -> None:
    with pytest.raises(DomainError) as refused:
        services.membership_change_role(
            membership=membership_of(company, owner), role="boss", actor=owner
        )
    assert refused.value.code == "invalid_role"


# -- invitations ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_invitation_create_emails_a_link_and_stores_only_the_token_hash(
    company, owner, django_capture_on_commit_callbacks, settings
) -> None:
    settings.PASAR_BASE_URL = "https://pasar.example"
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(
            company=company, invited_by=owner, email="New.Hire@Example.com", role=Role.FINANCE
        )
    assert invitation.email == "new.hire@example.com"
    assert invitation.token_hash == Invitation.hash_token(token)
    assert token not in invitation.token_hash
    expected_expiry = timezone.now() + settings.INVITATION_TTL
    assert abs(invitation.expires_at - expected_expiry) < timedelta(minutes=1)
    [email] = mail.outbox
    assert email.to == ["new.hire@example.com"]
    assert f"https://pasar.example/invitations/{company.public_id}/{token}/" in email.body
    assert company.legal_name in email.subject
    with tenant_context(company):
        [event] = OutboxEvent.objects.filter(topic="invitation.created")
    assert token not in str(event.payload)


@pytest.mark.django_db
def test_no_email_leaves_for_an_invitation_that_was_rolled_back(
    company, owner, django_capture_on_commit_callbacks
) -> None:

    def invite_then_fail() -> None:
        with transaction.atomic():
            services.invitation_create(
                company=company, invited_by=owner, email="a@example.com", role=Role.SALES
            )
            raise RuntimeError("the surrounding work failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        invite_then_fail()
    assert mail.outbox == []
    with tenant_context(company):
        assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_inviting_again_replaces_the_earlier_link(company, owner) -> None:
    _, first_token = services.invitation_create(
        company=company, invited_by=owner, email="again@example.com", role=Role.SALES
    )
    services.invitation_create(
        company=company, invited_by=owner, email="again@example.com", role=Role.FINANCE
    )
    invitee = UserFactory(email="again@example.com")
    with pytest.raises(DomainError) as refused:
        services.invitation_accept(
            company_public_id=str(company.public_id), token=first_token, user=invitee
        )
    assert refused.value.code == "invitation_revoked"


@pytest.mark.django_db
def test_invitation_create_refuses_what_the_inviter_may_not_do(company, owner) -> None:
    admin = member(company, Role.ADMIN)
    warehouse = member(company, Role.WAREHOUSE)
    before = counts()
    with pytest.raises(Forbidden) as refused:
        services.invitation_create(
            company=company, invited_by=admin, email="boss@example.com", role=Role.OWNER
        )
    assert refused.value.code == "owner_only"
    with pytest.raises(Forbidden):
        services.invitation_create(
            company=company, invited_by=warehouse, email="x@example.com", role=Role.SALES
        )
    with pytest.raises(Conflict) as refused:
        services.invitation_create(
            company=company, invited_by=owner, email=admin.email.upper(), role=Role.SALES
        )
    assert refused.value.code == "already_member"
    with pytest.raises(DomainError) as refused:
        services.invitation_create(
            company=company, invited_by=owner, email="y@example.com", role="intern"
        )
    assert refused.value.code == "invalid_role"
    assert counts() == before


@pytest.mark.django_db
def test_invitation_accept_makes_the_invited_person_a_member(company, owner) -> None:
    _, token = services.invitation_create(
        company=company, invited_by=owner, email="joiner@example.com", role=Role.WAREHOUSE
    )
    joiner = UserFactory(email="joiner@example.com")
    membership = services.invitation_accept(
        company_public_id=str(company.public_id), token=token, user=joiner
    )
    assert membership.role == Role.WAREHOUSE
    with tenant_context(company):
        invitation = Invitation.objects.get(email="joiner@example.com")
    assert invitation.accepted_by == joiner
    assert invitation.accepted_at is not None
    assert len(events(company, "membership.created")) == 1


@pytest.fixture
def invitation(company, owner):
    invitation, token = services.invitation_create(
        company=company, invited_by=owner, email="invitee@example.com", role=Role.SALES
    )
    return invitation, token, UserFactory(email="invitee@example.com")


def _expire(invitation: Invitation) -> None:
    with tenant_context(invitation.company_id):
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )


def _revoke(invitation: Invitation) -> None:
    with tenant_context(invitation.company_id):
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("spoil", "code", "status"),
    [
        ("wrong_token", "invitation_not_found", 404),
        ("wrong_company", "invitation_not_found", 404),
        ("malformed_company", "invitation_not_found", 404),
        ("expired", "invitation_expired", 410),
        ("revoked", "invitation_revoked", 410),
        ("other_email", "invitation_email_mismatch", 403),
    ],
)
def test_invitation_accept_refuses_a_spoilt_invitation(
    company, other_company, invitation, spoil: str, code: str, status: int
) -> None:
    invite, token, user = invitation
    company_public_id = str(company.public_id)
    if spoil == "wrong_token":
        token += "x"
    elif spoil == "wrong_company":
        company_public_id = str(other_company.public_id)
    elif spoil == "malformed_company":
        company_public_id = "not-a-uuid"
    elif spoil == "expired":
        _expire(invite)
    elif spoil == "revoked":
        _revoke(invite)
    elif spoil == "other_email":
        user = UserFactory(email="someone.else@example.com")
    before = counts()
    with pytest.raises(DomainError) as refused:
        services.invitation_accept(company_public_id=company_public_id, token=token, user=user)
    assert (refused.value.code, refused.value.status) == (code, status)
    assert refused.value.message
    assert counts() == before


@pytest.mark.django_db
def test_an_invitation_is_accepted_only_once(company, invitation) -> None:
    _, token, user = invitation
    services.invitation_accept(company_public_id=str(company.public_id), token=token, user=user)
    with pytest.raises(Conflict) as refused:
        services.invitation_accept(company_public_id=str(company.public_id), token=token, user=user)
    assert refused.value.code == "invitation_accepted"


@pytest.mark.django_db
def test_invitation_revoke_stops_the_link(company, owner, invitation) -> None:
    invite, token, user = invitation
    services.invitation_revoke(invitation=invite, actor=owner)
    with pytest.raises(Conflict):
        services.invitation_revoke(invitation=invite, actor=owner)
    with pytest.raises(DomainError) as refused:
        services.invitation_accept(company_public_id=str(company.public_id), token=token, user=user)
    assert refused.value.code == "invitation_revoked"


# -- tokens ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_pair_issue_refuses_a_company_the_user_is_not_in(company, owner, other_company):
    with pytest.raises(Forbidden) as refused:
        services.token_pair_issue(user=owner, company_public_id=str(other_company.public_id))
    assert refused.value.code == "not_a_member"


# -- shoppers -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.argon2
def test_shopper_register_hashes_with_argon2_and_is_no_user(company) -> None:
    shopper = services.shopper_register(
        company=company, email="Buyer@Example.com", password=STRONG_PASSWORD, full_name="Ah Beng"
    )
    assert shopper.email == "buyer@example.com"
    assert shopper.password.startswith("argon2")
    assert check_password(STRONG_PASSWORD, shopper.password)
    assert not User.objects.filter(email="buyer@example.com").exists()
    assert len(events(company, "shopper.registered")) == 1


@pytest.mark.django_db
def test_a_shopper_email_is_unique_per_shop_only(company, other_company) -> None:
    services.shopper_register(company=company, email="buyer@example.com", password=PASSWORD)
    before = counts()
    with pytest.raises(Conflict) as refused:
        services.shopper_register(company=company, email="BUYER@example.com", password=PASSWORD)
    assert refused.value.code == "email_taken"
    assert counts() == before
    services.shopper_register(company=other_company, email="buyer@example.com", password=PASSWORD)


@pytest.mark.django_db
def test_shopper_register_refuses_a_weak_password(company) -> None:
    before = counts()
    with pytest.raises(DomainError) as refused:
        services.shopper_register(company=company, email="b@example.com", password="123")
    assert refused.value.code == "weak_password"
    assert counts() == before


# -- concurrency ----------------------------------------------------------------------------


def race(*calls: Callable[[], object]) -> list[object]:
    """Start every call at the same instant, each on its own connection; their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:  # the outcome is what the test inspects
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_exactly_one_owner() -> None:
    for _ in range(5):
        company = CompanyFactory()
        first, second = UserFactory(), UserFactory()
        MembershipFactory(company=company, user=first, role=Role.OWNER)
        MembershipFactory(company=company, user=second, role=Role.OWNER)
        outcomes = race(
            lambda c=company, f=first, s=second: services.membership_change_role(
                membership=membership_of(c, s), role=Role.ADMIN, actor=f
            ),
            lambda c=company, f=first, s=second: services.membership_remove(
                membership=membership_of(c, f), actor=s
            ),
        )
        refused = [o for o in outcomes if isinstance(o, DomainError)]
        assert not [o for o in outcomes if isinstance(o, Exception) and o not in refused]
        assert len(refused) == 1, outcomes
        # Whoever goes second finds they are no longer an owner, or no longer a member, or
        # that the other is the last owner left.
        assert refused[0].code in {"last_owner", "owner_only", "permission_denied"}
        with tenant_context(company):
            assert Membership.objects.filter(role=Role.OWNER).count() == 1


def test_an_admin_is_offered_only_the_roles_it_may_grant() -> None:
    from pasar.tenancy.permissions import roles_grantable_by

    assert Role.FINANCE not in roles_grantable_by(Role.ADMIN)
    assert Role.OWNER not in roles_grantable_by(Role.ADMIN)
    assert set(roles_grantable_by(Role.OWNER)) == set(Role)
    assert roles_grantable_by(Role.SALES) == []

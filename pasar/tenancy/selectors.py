"""Reads about companies, people and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from pasar.tenancy.models import Company, Membership, User


def membership_for(*, user: User, company_public_id: str) -> Membership | None:
    """The user's membership in that company, or None (also for a malformed id)."""
    try:
        return (
            Membership.objects.of_user(user)
            .select_related("company")
            .filter(company__public_id=company_public_id)
            .first()
        )
    except ValueError:  # not a UUID
        return None


def default_membership(*, user: User) -> Membership | None:
    """The company a user lands in when none was chosen: the first they joined."""
    return Membership.objects.of_user(user).select_related("company").order_by("created_at").first()


def memberships_of(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.of_user(user).select_related("company").order_by("company__legal_name")
    )


def company_by_uen(*, uen: str) -> Company | None:
    return Company.objects.filter(uen=uen).first()

"""Reads about companies, people and memberships."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection

from pasar.core import rls
from pasar.core.db import rows
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


def memberships_of(
    *, user: User, loaded: Sequence[Membership] | None = None
) -> Sequence[Membership]:
    """A user's memberships by company name; `loaded` reuses what the request already read."""
    if loaded:
        return sorted(loaded, key=lambda membership: membership.company.legal_name)
    return list(
        Membership.objects.of_user(user).select_related("company").order_by("company__legal_name")
    )


def company_by_uen(*, uen: str) -> Company | None:
    return Company.objects.filter(uen=uen).first()


@dataclass(frozen=True)
class RequestIdentity:
    """Who a request acts as: the user and all their memberships (companies loaded)."""

    user: User
    memberships: list[Membership]

    def membership_in(self, company_public_id: str | None) -> Membership | None:
        for membership in self.memberships:
            if str(membership.company.public_id) == company_public_id:
                return membership
        return None

    def default_membership(self) -> Membership | None:
        """The company a user lands in when none was chosen: the first they joined."""
        return min(self.memberships, key=lambda m: m.created_at, default=None)


@lru_cache(maxsize=1)
def _identity_sql() -> tuple[str, str, list[str], list[str], list[str]]:
    user_fields, user_columns = rows.columns(User, "u")
    membership_fields, membership_columns = rows.columns(Membership, "m")
    company_fields, company_columns = rows.columns(Company, "c")
    # Column lists come from the models, never from input: no injection path.
    user_sql = (
        f"SELECT {user_columns} "  # noqa: S608
        "FROM tenancy_user u WHERE u.public_id = %s AND u.is_active"
    )
    memberships_sql = (
        f"SELECT {membership_columns}, {company_columns} FROM tenancy_membership m "  # noqa: S608
        "JOIN tenancy_company c ON c.id = m.company_id WHERE m.user_id = %s"
    )
    return user_sql, memberships_sql, user_fields, membership_fields, company_fields


def request_identity(*, user_public_id: str) -> RequestIdentity | None:
    """Load an active user and their memberships, and make the open transaction act as them.

    Runs on every authenticated request, so it is two round trips rather than ORM queries:
    the first reads the user; the second enters the user's context (which RLS needs before
    their memberships are visible) and reads every membership with its company, two statements
    sent together. The caller must hold a transaction open, then record that it acts as the user
    (`acting_as`) and choose the company (`switch_company`).
    """
    user_sql, memberships_sql, user_fields, membership_fields, company_fields = _identity_sql()
    try:
        uuid.UUID(str(user_public_id))
    except ValueError:
        return None
    with connection.cursor() as cursor:
        cursor.execute(user_sql, [str(user_public_id)])
        user_row = cursor.fetchone()
        if user_row is None:
            return None
        user = rows.loaded(User, user_fields, user_row)
        enter_sql, enter_params = rls.enter_statement(
            company_id=None,
            user_id=user.pk,
            platform=False,
            backend_pid=connection.connection.info.backend_pid,
        )
        cursor.execute(f"{enter_sql}; {memberships_sql}", [*enter_params, user.pk])
        cursor.nextset()
        found = cursor.fetchall()
    memberships = []
    split = len(membership_fields)
    for row in found:
        membership = rows.loaded(Membership, membership_fields, row[:split])
        membership.company = rows.loaded(Company, company_fields, row[split:])
        membership.user = user
        memberships.append(membership)
    return RequestIdentity(user=user, memberships=memberships)

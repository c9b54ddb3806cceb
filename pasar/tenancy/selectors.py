"""Reads about companies, people and memberships."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from pasar.core import rls
from pasar.core.db import rows
from pasar.tenancy.models import Company, Invitation, Membership, User


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


def team_members(*, company: Company) -> QuerySet[Membership]:
    """A company's memberships with their people, by name then email."""
    return (
        Membership.objects.filter(company=company)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def team_member(*, company: Company, public_id: Any) -> Membership | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return team_members(company=company).filter(public_id=key).first()


def open_invitations(*, company: Company) -> QuerySet[Invitation]:
    """The company's invitations that still let someone in, newest first."""
    return Invitation.objects.filter(Invitation.open_at(timezone.now()), company=company).order_by(
        "-created_at"
    )


def company_by_uen(*, uen: str) -> Company | None:
    return Company.objects.filter(uen=uen).first()


_COMPANY_FIELDS, _COMPANY_COLUMNS = rows.columns(Company, "company")
# Read on every shop request: as written, it costs a fraction of the ORM's query building.
COMPANY_BY_SHOP_SLUG_SQL = (
    f"SELECT {_COMPANY_COLUMNS} FROM {Company._meta.db_table} AS company"  # noqa: S608
    " WHERE company.shop_slug = %s"
)


def company_by_shop_slug(*, slug: str) -> Company | None:
    """The company whose shop is at /s/<slug>/."""
    with connection.cursor() as cursor:
        cursor.execute(COMPANY_BY_SHOP_SLUG_SQL, [slug.lower()])
        row = cursor.fetchone()
    return None if row is None else rows.loaded(Company, _COMPANY_FIELDS, row)


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


@dataclass(frozen=True)
class _Remembered:
    """The rows an identity was built from, and when they were read (monotonic seconds)."""

    user: tuple[Any, ...]
    memberships: tuple[tuple[Any, ...], ...]
    read_at: float


class IdentityMemory:
    """What this process last read about each user (by public id), for a while.

    Kept as rows, never as shared model instances: each request builds its own from them. An
    entry is used only after `enter_remembered_identity` has found the user's and companies'
    version numbers unchanged in the request's own transaction, so a role changed, a membership
    removed or a user deactivated in any process takes effect on the next request. Entries go
    after `seconds` or when `size` users are remembered (the least recently used first).
    """

    def __init__(self, *, size: int = 4096, seconds: float = 300.0) -> None:
        self.size = size
        self.seconds = seconds
        self._entries: OrderedDict[str, _Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> _Remembered | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry.read_at > self.seconds:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: _Remembered) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


identity_memory = IdentityMemory()


def _identity_from(entry: _Remembered) -> RequestIdentity:
    _, _, user_fields, membership_fields, company_fields = _identity_sql()
    user = rows.loaded(User, user_fields, entry.user)
    memberships = []
    split = len(membership_fields)
    for row in entry.memberships:
        membership = rows.loaded(Membership, membership_fields, row[:split])
        membership.company = rows.loaded(Company, company_fields, row[split:])
        membership.user = user
        memberships.append(membership)
    return RequestIdentity(user=user, memberships=memberships)


def request_identity(*, user_public_id: str) -> RequestIdentity | None:
    """Load an active user and their memberships, and make the open transaction act as them.

    Runs when a request's identity is not remembered (`remembered_identity`), so it is two
    round trips rather than ORM queries: the first reads the user; the second enters the
    user's context (which RLS needs before their memberships are visible) and reads every
    membership with its company, two statements sent together. The caller must hold a
    transaction open, then record that it acts as the user (`acting_as`) and choose the company
    (`switch_company`). What it read is remembered for the user's next requests.
    """
    user_sql, memberships_sql, user_fields, *_ = _identity_sql()
    try:
        uuid.UUID(str(user_public_id))
    except ValueError:
        return None
    with connection.cursor() as cursor:
        read_at = time.monotonic()
        cursor.execute(user_sql, [str(user_public_id)])
        user_row = cursor.fetchone()
        if user_row is None:
            identity_memory.forget(str(user_public_id))
            return None
        user_id = user_row[user_fields.index("id")]
        enter_sql, enter_params = rls.enter_statement(
            company_id=None,
            user_id=user_id,
            platform=False,
            backend_pid=connection.connection.info.backend_pid,
        )
        cursor.execute(f"{enter_sql}; {memberships_sql}", [*enter_params, user_id])
        cursor.nextset()
        found = cursor.fetchall()
    # The user's version was read before the memberships: a change between the two leaves
    # the remembered version behind the database's, which only costs a fresh read.
    entry = _Remembered(
        user=tuple(user_row), memberships=tuple(tuple(row) for row in found), read_at=read_at
    )
    identity_memory.put(str(user_public_id), entry)
    return _identity_from(entry)


def remembered_identity(*, user_public_id: str) -> RequestIdentity | None:
    """The identity this process last read for the user, not yet checked: use it only through
    `enter_remembered_identity`. None when nothing is remembered."""
    entry = identity_memory.get(str(user_public_id))
    return None if entry is None else _identity_from(entry)


CHECK_IDENTITY_SQL = """
SELECT u.identity_version,
       ARRAY(SELECT c.identity_version FROM tenancy_company AS c
             WHERE c.id = ANY(%s) ORDER BY c.id)
FROM tenancy_user AS u
WHERE u.id = %s AND u.public_id = %s AND u.is_active
"""


def enter_remembered_identity(*, identity: RequestIdentity, company_id: int | None) -> bool:
    """Make the open transaction act as the remembered user, for `company_id` (one of their
    memberships, or None), if what was remembered is still what the database holds: one round
    trip, which enters the context and reads the user's and companies' version numbers.

    False when anything changed (the entry is forgotten; the context entered is replaced when
    the caller loads the identity afresh with `request_identity`).
    """
    user = identity.user
    companies = sorted(
        {membership.company for membership in identity.memberships}, key=attrgetter("pk")
    )
    enter_sql, enter_params = rls.enter_statement(
        company_id=company_id,
        user_id=user.pk,
        platform=False,
        backend_pid=connection.connection.info.backend_pid,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{enter_sql}; {CHECK_IDENTITY_SQL}",
            [*enter_params, [company.pk for company in companies], user.pk, user.public_id],
        )
        cursor.nextset()
        found = cursor.fetchone()
    current = found is not None and (
        found[0] == user.identity_version
        and list(found[1]) == [company.identity_version for company in companies]
    )
    if not current:
        identity_memory.forget(str(user.public_id))
    return current

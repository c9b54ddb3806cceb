"""The topics tenancy publishes (see pasar/core/event_contracts.py)."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from pasar.core.event_contracts import declare


class CompanyCreated(TypedDict):
    company: UUID
    legal_name: str
    uen: str
    owner: UUID


class CompanyUpdated(TypedDict):
    company: UUID
    fields: list[str]


class MembershipCreated(TypedDict):
    membership: UUID
    user: UUID
    role: str


RoleChanged = TypedDict("RoleChanged", {"membership": UUID, "user": UUID, "from": str, "to": str})


class MembershipRemoved(TypedDict):
    membership: UUID
    user: UUID


class InvitationCreated(TypedDict):
    invitation: UUID
    email: str
    role: str


class InvitationRevoked(TypedDict):
    invitation: UUID


class ShopperRegistered(TypedDict):
    shopper: UUID


COMPANY_CREATED = declare(
    "company.created", CompanyCreated, description="A company was onboarded by its owner."
)
COMPANY_UPDATED = declare(
    "company.updated", CompanyUpdated, description="Company details changed (`fields` names them)."
)
MEMBERSHIP_CREATED = declare(
    "membership.created", MembershipCreated, description="A person joined a company's team."
)
MEMBERSHIP_ROLE_CHANGED = declare(
    "membership.role_changed", RoleChanged, description="A member was given another role."
)
MEMBERSHIP_REMOVED = declare(
    "membership.removed", MembershipRemoved, description="A member left or was removed."
)
INVITATION_CREATED = declare(
    "invitation.created", InvitationCreated, description="A person was invited by email."
)
INVITATION_REVOKED = declare(
    "invitation.revoked", InvitationRevoked, description="An open invitation was withdrawn."
)
SHOPPER_REGISTERED = declare(
    "shopper.registered", ShopperRegistered, description="A shopper opened an account."
)

"""The one permission table: which role may do which action, used by every API view and page.

Add an action here (and nowhere else) when a context needs one; tests walk the whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from pasar.tenancy.models import Company, Role

OWNER, ADMIN, FINANCE, WAREHOUSE, SALES = (
    Role.OWNER,
    Role.ADMIN,
    Role.FINANCE,
    Role.WAREHOUSE,
    Role.SALES,
)
EVERYONE = frozenset(Role)
MANAGERS = frozenset({OWNER, ADMIN})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "backoffice.view": EVERYONE,
    "company.view": EVERYONE,
    "company.update": MANAGERS,
    "company.delete": frozenset({OWNER}),
    "membership.view": MANAGERS,
    "membership.manage": MANAGERS,
    "invitation.manage": MANAGERS,
    "audit.view": MANAGERS,
    "location.view": EVERYONE,
    "location.manage": MANAGERS | {WAREHOUSE},
    "stock.view": EVERYONE,
    "stock.reserve": MANAGERS | {SALES, WAREHOUSE},
    "stock.manage": MANAGERS | {WAREHOUSE},
    "catalog.view": EVERYONE,
    "catalog.manage": MANAGERS | {WAREHOUSE},
    # Changing what a product sells for is the managers' call, not every catalog editor's.
    "catalog.price": MANAGERS,
    "payment.view": MANAGERS | {FINANCE, SALES},
    "payment.create": MANAGERS | {FINANCE, SALES},
    "payment.cancel": MANAGERS | {FINANCE},
    # Money leaves the business: the owner and the accountant, no one else.
    "payment.refund": frozenset({OWNER, FINANCE}),
    "payment.review": frozenset({OWNER, FINANCE}),
    "gateway.view": MANAGERS | {FINANCE},
    # Where the shop's money is paid out to: the owner alone.
    "gateway.manage": frozenset({OWNER}),
    "webhook.view": MANAGERS | {FINANCE},
    "order.view": EVERYONE,
    # Cancel, move along, solve a stock problem; a paid order's cancellation refunds, so it
    # also needs payment.refund.
    "order.manage": MANAGERS | {SALES},
    "order.fulfil": MANAGERS | {WAREHOUSE},
    "return.manage": MANAGERS | {SALES, WAREHOUSE},
    "customer.view": MANAGERS | {SALES, FINANCE},
    "promotion.manage": MANAGERS | {SALES},
    "ledger.view": MANAGERS | {FINANCE},
    "ledger.post": frozenset({OWNER, FINANCE}),
    "gst.view": MANAGERS | {FINANCE},
    "gst.file": frozenset({OWNER, FINANCE}),
}


# Actions that move money or change where it goes: a role that carries any of them is granted
# by an owner alone, so a manager cannot hand themselves (or a friend) the power to refund.
OWNER_GRANTED_ACTIONS = ("payment.refund", "gateway.manage")


class UnknownAction(KeyError):
    pass


def can(role: str | None, action: str) -> bool:
    """Whether a role may perform an action. Unknown actions are a programming error."""
    if action not in PERMISSIONS:
        raise UnknownAction(action)
    return role is not None and Role(role) in PERMISSIONS[action]


def request_can(request: HttpRequest | Request, action: str) -> bool:
    """Whether the person behind a back-office request may perform an action, by the role
    of their membership in the active company (none: nothing)."""
    membership = getattr(request, "membership", None)
    return can(membership.role if membership is not None else None, action)


def roles_only_owners_grant() -> frozenset[Role]:
    """The owner role and every role that carries an owner-granted action."""
    return frozenset(
        {OWNER} | {role for action in OWNER_GRANTED_ACTIONS for role in PERMISSIONS[action]}
    )


def roles_grantable_by(role: str | None) -> list[Role]:
    """The roles this role may hand out (by a role change or an invitation)."""
    if role is None or not can(role, "membership.manage"):
        return []
    only_owners = roles_only_owners_grant()
    return [r for r in Role if Role(role) == OWNER or r not in only_owners]


def role_of(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None and hasattr(request, "_request"):
        membership = getattr(request._request, "membership", None)
    return membership.role if membership is not None else None


class RoleAllows(BasePermission):
    """DRF permission: `permission_classes = [RoleAllows.to("membership.manage")]`."""

    action: str = ""
    message = "Your role in this company does not allow that."

    @classmethod
    def to(cls, action: str) -> type[RoleAllows]:
        if action not in PERMISSIONS:
            raise UnknownAction(action)
        return type(f"RoleAllows_{action.replace('.', '_')}", (cls,), {"action": action})

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        role = role_of(request)
        if role is None:
            # DRF reads the refusal's wording from the instance.
            self.message = (
                "You are not working in a company yet: create one, accept an invitation "
                "or switch to a company first."
            )
            return False
        return can(role, self.action)


class ReadWriteActions:
    """For a view whose reads and writes need different actions: `read_action` for GET, HEAD
    and OPTIONS, `write_action` for the rest."""

    read_action = ""
    write_action = ""

    def get_permissions(self) -> list[BasePermission]:
        request = getattr(self, "request")  # noqa: B009 - set by DRF before this is called
        safe = request.method in SAFE_METHODS
        return [RoleAllows.to(self.read_action if safe else self.write_action)()]


# -- pages and requests ---------------------------------------------------------------------

View = Callable[..., HttpResponseBase]


def company_required(action: str) -> Callable[[View], View]:
    """A page for signed-in members of the active company whose role may do `action`.

    Visitors are sent to sign in, people without a company to onboarding, and a role the
    permission table does not allow gets the 403 page.
    """
    if action not in PERMISSIONS:
        raise UnknownAction(action)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None:
                return redirect("tenancy:onboarding_company")
            if not can(membership.role, action):
                raise PermissionDenied("Your role in this company does not allow that.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def acting_company(request: HttpRequest | Request) -> Company:
    """The company the tenant middleware resolved for this request. Views behind
    `company_required` or `RoleAllows` always have one; anything else is refused."""
    company = getattr(request, "company", None)
    if not isinstance(company, Company):
        raise PermissionDenied("You are not working in a company yet.")
    return company

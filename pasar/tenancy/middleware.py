"""Resolves who is acting for which company, and runs the request inside that tenant context.

The company comes from the JWT's `company` claim (API clients) or from the session's active
company (browsers). A user who is not a member of that company gets 403 and nothing runs.
Each authenticated request is one transaction, rolled back when the view raises (Http404 and
PermissionDenied included) or the answer is a 5xx. Its first round trip enters the company's
context and checks that what this process remembers of the user and their memberships is
still current (their version numbers); only when nothing is remembered, or it changed, are the
user and memberships read afresh (two round trips) and the company's context entered after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from pasar.core.tenant import acting_as, between_transactions, platform_access, switch_company
from pasar.core.transactions import wants_no_request_transaction
from pasar.tenancy import selectors
from pasar.tenancy.auth import COMPANY_CLAIM, CompanyJWTAuthentication, remember_authentication
from pasar.tenancy.models import Membership, User

SESSION_COMPANY_KEY = "pasar_active_company"


@dataclass(frozen=True)
class Claim:
    """Who a request says it is: from a verified JWT or the signed-in session."""

    user_public_id: str
    company_public_id: str | None
    token: Any | None  # the validated JWT, None for a session


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"status": "error", "error": {"code": code, "message": message, "details": []}},
        status=status,
    )


def _rolled_back_if_failed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A request that answers 5xx writes nothing. (One whose view raised is rolled back in
    `process_exception`: Django turns the exception into a response before it reaches this
    middleware, so the transaction would otherwise commit.) A 4xx the view answers itself may
    keep what it saved on purpose, e.g. counts kept when posting them is refused."""
    if response.status_code >= 500 or getattr(request, "view_raised", False):
        transaction.set_rollback(True)
    return response


def _wants_no_transaction(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return wants_no_request_transaction(match.func)


def _chosen_membership(identity: selectors.RequestIdentity, claim: Claim) -> Membership | None:
    """The membership a request acts through: the claimed company's; for a browser session
    that names none (or one the user has left), the first company the user joined."""
    membership = identity.membership_in(claim.company_public_id)
    if membership is None and claim.token is None:
        membership = identity.default_membership()
    return membership


@dataclass(frozen=True)
class Identified:
    """Who the request acts as, through which membership (None: no company), and whether the
    transaction already acts for that membership's company (`entered`) or for the user alone."""

    identity: selectors.RequestIdentity
    membership: Membership | None
    entered: bool


def _identified(claim: Claim) -> Identified | None:
    """The claimed user's identity, with the open transaction acting as them: for the chosen
    membership's company when what this process remembers of them still holds (one round
    trip), else for the user alone after reading it afresh. None for an unknown or inactive
    user."""
    remembered = selectors.remembered_identity(user_public_id=claim.user_public_id)
    if remembered is not None:
        membership = _chosen_membership(remembered, claim)
        company_id = None if membership is None else membership.company_id
        if selectors.enter_remembered_identity(identity=remembered, company_id=company_id):
            return Identified(remembered, membership, entered=True)
    identity = selectors.request_identity(user_public_id=claim.user_public_id)
    if identity is None:
        return None
    return Identified(identity, _chosen_membership(identity, claim), entered=False)


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.jwt = CompanyJWTAuthentication()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.company = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        claim = self._claim(request)
        if claim is None:
            return self.get_response(request)
        if _wants_no_transaction(request):
            return self._act_without_transaction(request, claim)
        with transaction.atomic():
            identified = _identified(claim)
            if identified is not None:
                return _rolled_back_if_failed(request, self._act(request, claim, identified))
        # An unknown or inactive user: DRF's authentication (or the login page) answers.
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """A view that raised writes nothing, whatever response Django makes of the error. The
        rollback is marked once the error page is made (it may read the database)."""
        request.view_raised = True  # type: ignore[attr-defined]

    def _act_without_transaction(self, request: HttpRequest, claim: Claim) -> HttpResponse:
        """For views that call other systems (@no_request_transaction): the member is checked
        in a short transaction, then the view runs with none open, acting for the company in
        the transactions it opens itself."""
        checked: list[bool] = []

        def passed(request: HttpRequest) -> HttpResponse:
            checked.append(True)
            return HttpResponse()

        with transaction.atomic():
            identified = _identified(claim)
            if identified is not None:
                refused = self._act(request, claim, identified, respond=passed)
                if not checked:
                    return refused
        if identified is None:
            return self.get_response(request)
        user_id = identified.identity.user.pk
        with between_transactions(getattr(request, "company", None), user=user_id):
            return self.get_response(request)

    def _act(
        self,
        request: HttpRequest,
        claim: Claim,
        identified: Identified,
        respond: Callable[[HttpRequest], HttpResponse] | None = None,
    ) -> HttpResponse:
        """Run the request as the identity, through its membership: in the company's context
        already when `identified.entered`, else switched to it here."""
        respond = respond or self.get_response
        identity, membership = identified.identity, identified.membership
        # A session's user object is kept: login() and the auth middleware hold it.
        user = identity.user if claim.token is not None else request.user
        assert isinstance(user, User)
        if claim.token is not None:
            remember_authentication(request, user, claim.token)
        if request.path.startswith("/admin/") and user.is_staff:
            with platform_access(reason=f"admin {request.method} {request.path}", actor=user):
                return respond(request)
        if membership is None and claim.company_public_id is not None and claim.token:
            return _error(
                403, "not_a_member", "This token is for a company you are not a member of."
            )

        entered_company = membership.company_id if identified.entered and membership else None
        with acting_as(user_id=int(user.pk), company_id=entered_company):
            if membership is not None:
                if claim.token is None and identity.membership_in(claim.company_public_id) is None:
                    request.session[SESSION_COMPANY_KEY] = str(membership.company.public_id)
                if not identified.entered:
                    switch_company(membership.company_id)
            request.membership = membership  # type: ignore[attr-defined]
            request.company = membership.company if membership else None  # type: ignore[attr-defined]
            request.memberships = identity.memberships  # type: ignore[attr-defined]
            return respond(request)

    def _claim(self, request: HttpRequest) -> Claim | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            try:
                token = self.jwt.get_validated_token(header.removeprefix("Bearer ").encode())
            except (InvalidToken, TokenError):
                return None  # DRF answers 401 with the reason
            company = token.get(COMPANY_CLAIM)
            return Claim(
                user_public_id=str(token.get(jwt_settings.USER_ID_CLAIM, "")),
                company_public_id=str(company) if company else None,
                token=token,
            )
        session_user = getattr(request, "user", None)
        if session_user is not None and session_user.is_authenticated:
            return Claim(
                user_public_id=str(session_user.public_id),
                company_public_id=request.session.get(SESSION_COMPANY_KEY),
                token=None,
            )
        return None

"""Resolves who is acting for which company, and runs the request inside that tenant context.

The company comes from the JWT's `company` claim (API clients) or from the session's active
company (browsers). A user who is not a member of that company gets 403 and nothing runs.
Each authenticated request is one transaction: the user's context is set, the membership
checked, then the company's context set for the rest of the request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from pasar.core.tenant import platform_access, switch_company, user_context
from pasar.tenancy import selectors
from pasar.tenancy.auth import COMPANY_CLAIM, CompanyJWTAuthentication
from pasar.tenancy.models import User

SESSION_COMPANY_KEY = "pasar_active_company"


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"status": "error", "error": {"code": code, "message": message, "details": []}},
        status=status,
    )


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.jwt = CompanyJWTAuthentication()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.company = None  # type: ignore[attr-defined]
        user, company_public_id, from_token = self._identify(request)
        if user is None:
            return self.get_response(request)

        if request.path.startswith("/admin/") and user.is_staff:
            with platform_access(reason=f"admin {request.method} {request.path}", actor=user):
                return self.get_response(request)

        with user_context(user):
            membership = None
            if company_public_id is not None:
                membership = selectors.membership_for(
                    user=user, company_public_id=company_public_id
                )
                if membership is None and from_token:
                    return _error(
                        403, "not_a_member", "This token is for a company you are not a member of."
                    )
            if membership is None and not from_token:
                membership = selectors.default_membership(user=user)
                if membership is not None:
                    request.session[SESSION_COMPANY_KEY] = str(membership.company.public_id)
            if membership is not None:
                switch_company(membership.company_id)
                request.membership = membership  # type: ignore[attr-defined]
                request.company = membership.company  # type: ignore[attr-defined]
            return self.get_response(request)

    def _identify(self, request: HttpRequest) -> tuple[User | None, str | None, bool]:
        """(user, company public id, whether it came from a token)."""
        if request.headers.get("Authorization", "").startswith("Bearer "):
            try:
                result = self.jwt.authenticate(request)
            except (InvalidToken, TokenError):
                return None, None, True  # DRF answers 401 with the reason
            if result is None:
                return None, None, True
            user, token = result
            claim = token.get(COMPANY_CLAIM)
            return user, (str(claim) if claim else None), True
        session_user = getattr(request, "user", None)
        if session_user is not None and session_user.is_authenticated:
            return session_user, request.session.get(SESSION_COMPANY_KEY), False
        return None, None, False

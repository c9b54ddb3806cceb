"""JWT authentication whose tokens carry the active company."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import RefreshToken

from pasar.tenancy.models import Company, User

COMPANY_CLAIM = "company"
_CACHE_ATTR = "_pasar_jwt_result"


class CompanyJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, decoding each request's token once.

    The tenant middleware authenticates first (it needs the company claim); the DRF view
    then reuses that result instead of decoding and loading the user again.
    """

    def authenticate(self, request: Any) -> Any:
        raw_request = request._request if isinstance(request, Request) else request
        if hasattr(raw_request, _CACHE_ATTR):
            return getattr(raw_request, _CACHE_ATTR)
        result = super().authenticate(request)
        setattr(raw_request, _CACHE_ATTR, result)
        return result


def remember_authentication(request: Any, user: User, token: Any) -> None:
    """Hand a token the middleware already verified (and its user) to DRF's authentication."""
    setattr(request, _CACHE_ATTR, (user, token))


def tokens_for(*, user: User, company: Company | None) -> dict[str, str]:
    """A refresh/access pair for a user, acting for one company (or none yet)."""
    refresh = RefreshToken.for_user(user)
    if company is not None:
        refresh[COMPANY_CLAIM] = str(company.public_id)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}

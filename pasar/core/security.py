"""Sign-in protection: django-axes locks an account at one address out after repeated failures.

The settings point axes at the functions here (AXES_USERNAME_CALLABLE, AXES_LOCKOUT_CALLABLE).
Views that authenticate pass Django's HttpRequest (a DRF view its `request._request`): that is
the object AxesMiddleware inspects when it swaps a lockout in for the view's answer.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme

LOCKED_OUT_CODE = "locked_out"


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The email a sign-in attempt was for, so every spelling of it counts against one account.

    The JSON token endpoint passes `email` to authenticate(); Django's login form passes
    `username` (our USERNAME_FIELD is the email either way).
    """
    for source in (credentials or {}, request.POST):
        for field in ("email", "username"):
            value = source.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """429 for a locked-out sign-in: the error envelope for API clients, a page for browsers."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    message = (
        f"Too many failed sign-in attempts. Try again in {minutes} minutes."
        if minutes
        else "Too many failed sign-in attempts. Ask your administrator to unlock your account."
    )
    response: HttpResponse
    if _wants_json(request):
        # Imported late: pasar.core.api imports DRF's views, which import the renderer that
        # pasar.core.api itself defines, so it must not be the first module to load DRF.
        from pasar.core.api import error_body

        response = JsonResponse(error_body(LOCKED_OUT_CODE, message), status=429)
    else:
        response = HttpResponse(
            render_to_string("core/locked_out.html", {"message": message}, request=request),
            status=429,
        )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def next_url(request: HttpRequest) -> str:
    """Where to go after signing in (or another step that names ?next=): a page of this site,
    or '' (a link to another site is never followed)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""

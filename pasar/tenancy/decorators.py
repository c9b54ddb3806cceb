"""Page access: who may open a back-office page, decided by the one permission table."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from pasar.tenancy.permissions import PERMISSIONS, UnknownAction, can

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

from typing import Any

from django.http import HttpRequest


def active_company(request: HttpRequest) -> dict[str, Any]:
    """The company and role the page acts for (None before onboarding)."""
    membership = getattr(request, "membership", None)
    return {
        "active_company": getattr(request, "company", None),
        "active_role": membership.role if membership is not None else None,
    }

"""Template helpers for the page layout: role checks and the company switcher."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from pasar.tenancy import permissions, selectors
from pasar.tenancy.models import Membership

register = template.Library()


@register.filter
def can(role: str | None, action: str) -> bool:
    """`{% if active_role|can:"membership.view" %}`: the permission table, in a template."""
    return permissions.can(role, action)


@register.simple_tag(takes_context=True)
def user_memberships(context: dict[str, Any]) -> list[Membership]:
    """The signed-in user's companies, for the company switcher."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return list(selectors.memberships_of(user=user))


@register.simple_tag(takes_context=True)
def nav_link(
    context: dict[str, Any], url_name: str, label: str, *, exact: bool = False
) -> SafeString:
    """A navigation link marked aria-current="page" while its section is open."""
    url = reverse(url_name)
    request = context.get("request")
    path = getattr(request, "path", "")
    current = path == url if exact else path.startswith(url)
    if current:
        return format_html('<a href="{}" aria-current="page">{}</a>', url, label)
    return format_html('<a href="{}">{}</a>', url, label)

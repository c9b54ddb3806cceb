"""A request to a shop's own domain (shop.example.sg) is served that shop's storefront."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from pasar.storefront import selectors


class ShopDomain:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = _host(request)
        shop = selectors.shop_by_domain(host) if _may_be_a_shop(host) else None
        if shop is not None:
            request.shop = shop  # type: ignore[attr-defined]
            request.on_shop_domain = True  # type: ignore[attr-defined]
            request.urlconf = "pasar.storefront.domain_urls"
        return self.get_response(request)


def _host(request: HttpRequest) -> str:
    try:
        return request.get_host().split(":", 1)[0].lower().rstrip(".")
    except DisallowedHost:  # Django answers 400 further on
        return ""


def _may_be_a_shop(host: str) -> bool:
    """Only a domain name that is not the platform's own can be a shop's (no query for the
    platform's pages or for an address typed as an IP)."""
    if not host or "." not in host or host in settings.PLATFORM_HOSTS:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False

"""Feature flags per company, on top of django-waffle.

A flag is on for a request when waffle's own rules say so (everyone, percent, users, groups,
testing) or when the request's company is one of the flag's `companies`. "Everyone: No" in the
admin switches it off for every company. Services that have a company but no request ask
`flag_is_active(company, name)`; views and templates may also use waffle's `flag_is_active`,
`{% flag %}` and `@waffle_flag`, which all go through `Flag.is_active` below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.db.models.signals import m2m_changed
from waffle import get_waffle_flag_model
from waffle.models import CACHE_EMPTY, AbstractUserFlag
from waffle.utils import get_cache, get_setting, keyfmt

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

    from pasar.tenancy.models import Company

FLAG_COMPANIES_CACHE_KEY = "flag:%s:companies"


class AbstractCompanyFlag(AbstractUserFlag):
    """Waffle's flag that can also be switched on for chosen companies (`companies` M2M)."""

    companies: Any

    class Meta(AbstractUserFlag.Meta):
        abstract = True

    def is_active(self, request: HttpRequest, read_only: bool = False) -> bool | None:
        if super().is_active(request, read_only=read_only):
            return True
        if not self.pk or self.everyone is False:
            return False
        return self.is_active_for_company(getattr(request, "company", None))

    def is_active_for_company(self, company: Company | None) -> bool:
        """Whether this company has the feature, by `everyone` and `companies` alone."""
        if not self.pk:
            return bool(get_setting("FLAG_DEFAULT"))
        if self.everyone is not None:
            return self.everyone
        return company is not None and company.pk in self._get_company_ids()

    def _get_company_ids(self) -> set[int]:
        cache = get_cache()
        cache_key = keyfmt(FLAG_COMPANIES_CACHE_KEY, self.name)
        cached = cache.get(cache_key)
        if cached == CACHE_EMPTY:
            return set()
        if cached:
            return set(cached)
        company_ids = set(self.companies.values_list("pk", flat=True))
        cache.add(cache_key, company_ids or CACHE_EMPTY)
        return company_ids

    def get_flush_keys(self, flush_keys: list[str] | None = None) -> list[str]:
        flush_keys = super().get_flush_keys(flush_keys)
        flush_keys.append(keyfmt(FLAG_COMPANIES_CACHE_KEY, self.name))
        return flush_keys


def flag_is_active(request_or_company: HttpRequest | Request | Company, name: str) -> bool:
    """Whether the feature `name` is on for this request (its company, user...) or company."""
    flag = get_waffle_flag_model().get(name)
    if isinstance(request_or_company, models.Model):
        return flag.is_active_for_company(request_or_company)  # type: ignore[attr-defined]
    return bool(flag.is_active(request_or_company))


_MEMBERSHIP_CHANGES = frozenset({"post_add", "post_remove", "post_clear"})


def _flag_companies_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    model: Any,
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    """Switching a flag for companies takes effect at once: drop its cached company list."""
    flag_model = model if reverse else type(instance)
    if action not in _MEMBERSHIP_CHANGES or not issubclass(flag_model, AbstractCompanyFlag):
        return
    if sender is not flag_model.companies.through:
        return
    if not reverse:
        flags = [instance]
    elif pk_set:
        flags = list(flag_model.objects.filter(pk__in=pk_set))
    else:
        # company.flags.clear() does not say which flags it left; there are only a few.
        flags = list(flag_model.objects.all())
    for flag in flags:
        transaction.on_commit(flag.flush)


m2m_changed.connect(_flag_companies_changed, dispatch_uid="pasar-flag-companies-changed")

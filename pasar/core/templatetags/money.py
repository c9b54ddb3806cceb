"""`{{ amount|sgd }}`: an amount of money as pages show it everywhere, S$1,234.50."""

from __future__ import annotations

from typing import Any

from django import template

from pasar.core.money import format_sgd, parse_amount

register = template.Library()


@register.filter
def sgd(amount: Any) -> str:
    return format_sgd(parse_amount(amount)) if amount not in (None, "") else ""

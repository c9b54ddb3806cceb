"""`manage.py check_stock --company <shop slug or public id>`: prove the stock adds up.

Every level's on hand must equal the sum of its movements, and its reserved units the sum of
its open reservation allocations. Prints each level that drifts and exits with status 1 if any.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pasar.inventory.selectors import stock_drift
from pasar.tenancy.models import Company


class Command(BaseCommand):
    help = "Check that every stock level equals the sum of its movements for one company."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--company", required=True, help="The company's shop slug or public id."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = _company(options["company"])
        drift = stock_drift(company=company)
        if not drift:
            self.stdout.write(
                self.style.SUCCESS(f"{company}: every stock level equals its movements.")
            )
            return
        for level in drift:
            self.stdout.write(
                f"{level.sku} at {level.location}: on hand {level.on_hand}, movements "
                f"{level.movements_total}; reserved {level.reserved}, open allocations "
                f"{level.allocations_total}"
            )
        raise CommandError(f"{company}: {len(drift)} stock level(s) drift from their records.")


def _company(reference: str) -> Company:
    try:
        uuid.UUID(reference)
    except ValueError:
        lookup = {"shop_slug": reference}
    else:
        lookup = {"public_id": reference}
    try:
        return Company.objects.get(**lookup)
    except Company.DoesNotExist as error:
        raise CommandError(f"No company has the shop slug or public id {reference!r}.") from error

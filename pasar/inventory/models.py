"""Where stock lives: a company's shops and warehouses."""

from typing import Any, ClassVar

from django.db import models

from pasar.core.tenant import PublicIdMixin, TenantManager, TenantModel


class LocationKind(models.TextChoices):
    STORE = "store", "Store"
    WAREHOUSE = "warehouse", "Warehouse"


class Location(PublicIdMixin, TenantModel):
    """A shop or warehouse. Lower allocation priority is drawn from first."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LocationKind.choices, default=LocationKind.STORE)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=6, blank=True)
    allocation_priority = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()

    class Meta:
        ordering: ClassVar[list[str]] = ["allocation_priority", "name"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "name"], name="location_name_per_company"),
        ]

    def __str__(self) -> str:
        return self.name

"""GST returns as filed: the boxes kept as they were, the period locked in the books."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from pasar.core.tenant import PublicIdMixin, TenantModel


class GstReturn(PublicIdMixin, TenantModel):
    """An F5 marked filed for a period: its boxes as filed (later adjustments land in the next
    open period, never here). `ack_no` is IRAS's acknowledgement once submitted there."""

    start = models.DateField()
    end = models.DateField()
    boxes = models.JSONField()
    filed_at = models.DateTimeField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ack_no = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["-start"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "start"], name="gst_return_one_per_period"),
            models.CheckConstraint(condition=Q(start__lte=F("end")), name="gst_return_ordered"),
        ]


class GstReminder(TenantModel):
    """A reminder sent to finance that a period's return falls due: once per period."""

    period_start = models.DateField()
    period_end = models.DateField()
    due = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "period_start"], name="gst_reminder_once_per_period"
            ),
        ]

"""Platform-wide records: the audit log and the outbox of domain events."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from pasar.core.tenant import TenantModel


class AuditEntry(models.Model):
    """One thing someone did, append-only. Each entry carries the hash of the one before it
    in the same company's chain (company NULL: the platform's chain), so a change or a
    deletion anywhere breaks the chain and `manage.py verify_audit_chain` reports it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(
        "tenancy.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sequence = models.PositiveBigIntegerField(help_text="Position in the company's chain, from 1.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    # Each company reads only its own chain; the app role may only append.
    rls_protected = True
    rls_revoked_privileges = ("UPDATE", "DELETE")

    class Meta:
        ordering: ClassVar[list[str]] = ["company_id", "sequence"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "sequence"],
                name="audit_sequence_per_company",
                nulls_distinct=False,
            ),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or 'system'}"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change it announces."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(
        "tenancy.Company", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    topic = models.CharField(max_length=100)
    version = models.PositiveSmallIntegerField(
        default=1, help_text="The version of the topic's declared payload it was written in."
    )
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    relayed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="After a failed attempt, when the relay tries again."
    )
    dead_at = models.DateTimeField(
        null=True, blank=True, help_text="Set aside after too many failed attempts."
    )

    rls_protected = True

    class Meta:
        indexes: ClassVar[list[Any]] = [
            models.Index(
                fields=["id"],
                condition=models.Q(relayed_at__isnull=True, dead_at__isnull=True),
                name="outbox_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"

    @property
    def status(self) -> str:
        if self.relayed_at is not None:
            return "relayed"
        return "dead" if self.dead_at is not None else "pending"


class EventDelivery(models.Model):
    """Proof that one handler has processed one event; the unique pair makes delivery once-only."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["event", "handler"], name="delivery_once_per_handler"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} <- {self.event_id}"


class DocumentSequence(TenantModel):
    """The last number a company gave to one kind of document (GRN-000001, SO-000001, ...).

    Numbers are per company, gapless and never reused: `pasar.core.numbering.next_number`
    takes one in the document's own transaction, holding the row until it ends.
    """

    prefix = models.CharField(max_length=8)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "prefix"], name="document_sequence_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_number}"

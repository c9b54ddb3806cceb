"""GET /api/v1/audit-log: owners and admins read their company's audit log.

The log itself is a core facility; who may read it is a role rule, so this view asks the one
permission table in `pasar.tenancy.permissions` (the single import from core into tenancy,
allowed by name in the import-linter contract).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from pasar.core.api import StrictSerializer
from pasar.core.audit import audit_entries
from pasar.core.models import AuditEntry
from pasar.tenancy.permissions import RoleAllows

PAGING_PARAMETERS = frozenset({"page", "per_page"})


class AuditLogQuery(StrictSerializer):
    action = serializers.CharField(
        required=False, max_length=100, help_text='Exactly this action, e.g. "company.updated".'
    )
    actor = serializers.CharField(
        required=False,
        max_length=254,
        help_text="Part of the email address of the person who acted.",
    )
    object_type = serializers.CharField(
        required=False,
        max_length=100,
        help_text='Entries about this kind of object, e.g. "tenancy.membership".',
    )
    date_from = serializers.DateField(
        required=False, help_text="First day to include (Singapore date, YYYY-MM-DD)."
    )
    date_to = serializers.DateField(
        required=False, help_text="Last day to include (Singapore date, YYYY-MM-DD)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError(
                {"date_to": "The last day must not be before the first day."}
            )
        return attrs


class AuditEntryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    sequence = serializers.IntegerField(help_text="Position in the company's chain, from 1.")
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    actor = serializers.UUIDField(
        source="actor.public_id", allow_null=True, help_text="The user who acted; null: system."
    )
    actor_label = serializers.CharField(help_text="The actor's email address at the time.")
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_label = serializers.CharField()
    changes = serializers.DictField(
        child=serializers.ListField(), help_text="{field: [before, after]}"
    )
    request_id = serializers.CharField()
    ip_address = serializers.IPAddressField(allow_null=True)
    entry_hash = serializers.CharField()
    previous_hash = serializers.CharField()


@extend_schema_view(
    get=extend_schema(
        summary="This company's audit log, newest first",
        parameters=[AuditLogQuery],
    )
)
class AuditLogView(ListAPIView):
    permission_classes = (RoleAllows.to("audit.view"),)
    serializer_class = AuditEntryOutput

    def get_queryset(self) -> QuerySet[AuditEntry]:
        query = AuditLogQuery(
            data={
                name: value
                for name, value in self.request.query_params.items()
                if name not in PAGING_PARAMETERS
            }
        )
        query.is_valid(raise_exception=True)
        return audit_entries(company=self.request.company, **query.validated_data)  # type: ignore[attr-defined]

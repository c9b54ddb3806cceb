"""The audit log's API shapes: its filters (also used by the back office's audit page) and an
entry. The view, GET /api/v1/audit-log, is tenancy's (who may read the log is a role rule).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pasar.core.api import StrictSerializer


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

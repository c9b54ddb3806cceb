"""Platform staff read the audit log and watch the outbox; neither is edited by hand."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from pasar.core.events import event_retry
from pasar.core.models import AuditEntry, EventDelivery, OutboxEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "company", "sequence", "actor_label", "action", "object_label")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "action", "object_id", "object_label", "request_id")
    date_hierarchy = "created_at"
    list_select_related = ("company",)
    show_full_result_count = False


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    fields = ("handler", "delivered_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "Pending"), ("dead", "Dead"), ("relayed", "Relayed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> Any:
        match self.value():
            case "pending":
                return queryset.filter(relayed_at__isnull=True, dead_at__isnull=True)
            case "dead":
                return queryset.filter(relayed_at__isnull=True, dead_at__isnull=False)
            case "relayed":
                return queryset.filter(relayed_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "topic", "company", "created_at", "status", "attempts")
    list_filter = (EventStatusFilter, "topic")
    search_fields = ("topic", "public_id")
    list_select_related = ("company",)
    inlines = (EventDeliveryInline,)
    actions = ("retry",)

    @admin.action(description="Retry the selected events that were not relayed")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        count = event_retry(events=queryset)
        self.message_user(request, f"{count} event(s) will be retried.", messages.SUCCESS)

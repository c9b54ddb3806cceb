"""Django admin for platform staff: companies, people, shoppers and feature flags.

Staff requests under /admin/ run inside `platform_access` (an audited bypass, see
TenantMiddleware), so the tenant managers show every company's rows here. Password and
token hashes are never shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ActionLocation
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from waffle.admin import FlagAdmin as WaffleFlagAdmin

from pasar.tenancy.models import Company, Flag, Invitation, Membership, Shopper, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user",)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("legal_name", "uen", "shop_slug", "gst_registered", "created_at")
    list_filter = ("gst_registered", "gst_period")
    search_fields = ("legal_name", "uen", "shop_slug", "gst_number")
    readonly_fields = ("public_id", "uen", "country", "timezone", "currency", "created_at")
    fields = (
        "public_id",
        "legal_name",
        "uen",
        "shop_slug",
        ("gst_registered", "gst_number"),
        ("gst_period", "gst_period_start_month"),
        "address_line1",
        "address_line2",
        "postal_code",
        ("country", "timezone", "currency"),
        "created_at",
    )
    inlines = (MembershipInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Companies join through onboarding, which checks the UEN and makes the first owner.
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("public_id", "email", "date_joined", "last_login")
    fields = (
        "public_id",
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "date_joined",
        "last_login",
    )
    filter_horizontal = ("groups", "user_permissions")
    inlines = (MembershipInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # People sign up or are invited, and choose their own password.
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "company", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "company__legal_name", "company__uen")
    raw_id_fields = ("user", "company")
    readonly_fields = ("public_id", "created_at")
    list_select_related = ("user", "company")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "company", "role", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email", "company__legal_name")
    list_select_related = ("company",)
    fields = (
        "public_id",
        "company",
        "email",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An invitation is only useful with its emailed token, which the service creates.
        return False


@admin.register(Shopper)
class ShopperAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "company", "created_at")
    search_fields = ("email", "full_name", "company__legal_name")
    list_select_related = ("company",)
    fields = ("public_id", "company", "email", "full_name", "created_at")
    readonly_fields = ("public_id", "company", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Shoppers register on the shop and choose their own password.
        return False


@admin.register(Flag)
class FlagAdmin(WaffleFlagAdmin):
    """waffle's flag screen, plus the companies a flag is switched on for."""

    raw_id_fields = ("users",)
    filter_horizontal = ("companies", "groups")

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*super().get_list_display(request), "company_count")

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        # waffle's admin drops bulk delete with the pre-6.1 signature; same rule, current API.
        actions = admin.ModelAdmin.get_actions(self, request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flag]:
        return super().get_queryset(request).annotate(company_total=Count("companies"))

    @admin.display(description="companies", ordering="company_total")
    def company_count(self, flag: Flag) -> int:
        return flag.company_total  # type: ignore[attr-defined]

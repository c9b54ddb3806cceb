"""Platform staff may look at a company's catalog when helping it; changes go through the
catalog's services (they keep search text, audit entries and events right), so this admin
only reads."""

from django.contrib import admin

from pasar.catalog.models import Category, ImportJob, Product, ProductImage, Variant
from pasar.core.admin import ReadOnlyAdmin


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "parent", "company")
    search_fields = ("name", "slug")
    list_select_related = ("parent", "company")


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ("sku", "barcode", "options", "price", "cost", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "tax_code", "category", "company", "updated_at")
    list_filter = ("status", "tax_code")
    search_fields = ("name", "variants__sku")
    list_select_related = ("category", "company")
    inlines = (VariantInline,)
    show_full_result_count = False


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ("sku", "product", "price", "status", "company")
    list_filter = ("status",)
    search_fields = ("sku", "barcode", "product__name")
    list_select_related = ("product", "company")
    show_full_result_count = False


@admin.register(ProductImage)
class ProductImageAdmin(ReadOnlyAdmin):
    list_display = ("product", "position", "width", "height", "company")
    list_select_related = ("product", "company")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("filename", "status", "total_rows", "processed_rows", "company", "created_at")
    list_filter = ("status",)
    list_select_related = ("company",)

"""The /api/v1/catalog/ endpoints: categories, products with their variants and images,
search, and CSV import and export.

Everyone in a company may read the catalog (`catalog.view`); owners, admins and the
warehouse role change it (`catalog.manage`). Each view reads its input with a
StrictSerializer, calls one service or selector and answers with an output serializer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo
from decimal import Decimal
from operator import attrgetter
from typing import Any, ClassVar, cast

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.catalog import csv_io, imports, selectors, services
from pasar.catalog.models import (
    Category,
    ImportJob,
    ImportStatus,
    Product,
    ProductImage,
    ProductStatus,
    TaxCode,
    Variant,
    VariantStatus,
)
from pasar.catalog.views import image_response
from pasar.core.api import EnvelopeRenderer, PagePagination, StrictSerializer, by_public_id
from pasar.core.errors import Forbidden, NotFound
from pasar.core.tenant import tenant_context
from pasar.tenancy.permissions import RoleAllows, acting_company, can, role_of

# -- serializers ----------------------------------------------------------------------------


class CategoryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    slug = serializers.CharField()
    # A declared field named like a Field attribute is fine: the serializer's metaclass
    # moves declared fields off the class.
    parent = serializers.UUIDField(  # type: ignore[assignment]
        source="parent.public_id", allow_null=True, default=None
    )
    position = serializers.IntegerField()


class CategoryCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=120)
    parent = serializers.UUIDField(required=False, allow_null=True)  # type: ignore[assignment]
    slug = serializers.CharField(max_length=140, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False, default=0)


class CategoryUpdateInput(StrictSerializer):
    name = serializers.CharField(max_length=120, required=False)
    parent = serializers.UUIDField(required=False, allow_null=True)  # type: ignore[assignment]
    slug = serializers.CharField(max_length=140, required=False)
    position = serializers.IntegerField(min_value=0, required=False)


# Products are read on every catalog screen and by every shop front, a page at a time: their
# output classes write each field directly instead of walking DRF's generic field machinery,
# which cost about as much as reading the page from the database. The declared fields stay for
# the schema; tests/catalog/test_api_output.py holds each to what DRF itself would answer.
_PRICE = serializers.DecimalField(max_digits=12, decimal_places=2)
_COST = serializers.DecimalField(max_digits=12, decimal_places=4)
_TIME = serializers.DateTimeField()


def _text_values(mapping: dict[Any, Any]) -> dict[str, Any]:
    return {str(key): None if value is None else str(value) for key, value in mapping.items()}


def _whole(value: int | None) -> int | None:
    return None if value is None else int(value)


def _fixed(value: Decimal, field: serializers.DecimalField) -> str:
    """`field.to_representation(value)`. A value read from its column already has the field's
    places, and then needs no quantizing: `{:f}` writes it as DRF would."""
    _sign, digits, exponent = value.as_tuple()
    if exponent == -(field.decimal_places or 0) and len(digits) <= (field.max_digits or 0):
        return f"{value:f}"
    return str(field.to_representation(value))


def _instant(value: datetime, zone: tzinfo) -> str:
    """`DateTimeField().to_representation(value)` with `zone` the current time zone."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _variant_dict(
    zone: tzinfo,
    public_id: Any,
    sku: str,
    barcode: str,
    options: dict[Any, Any],
    price: Decimal,
    cost: Decimal,
    status: str,
    position: int,
    created_at: datetime,
    updated_at: datetime,
) -> dict[str, Any]:
    return {
        "id": str(public_id),
        "sku": str(sku),
        "barcode": str(barcode),
        "options": _text_values(options),
        "price": _fixed(price, _PRICE),
        "cost": _fixed(cost, _COST),
        "status": status,
        "position": int(position),
        "created_at": _instant(created_at, zone),
        "updated_at": _instant(updated_at, zone),
    }


def _image_dict(
    public_id: Any, variant: Any, width: int, height: int, alt_text: str, position: int
) -> dict[str, Any]:
    return {
        "id": str(public_id),
        "variant": None if variant is None else str(variant),
        "original": reverse("api-catalog-image-file", args=[public_id, "original"]),
        "thumbnail_large": reverse("api-catalog-image-file", args=[public_id, "large"]),
        "thumbnail_small": reverse("api-catalog-image-file", args=[public_id, "small"]),
        "width": int(width),
        "height": int(height),
        "alt_text": str(alt_text),
        "position": int(position),
    }


def _product_dict(
    zone: tzinfo,
    public_id: Any,
    name: str,
    description: str,
    category: Any,
    status: str,
    tax_code: str,
    price_includes_gst: bool,
    attributes: dict[Any, Any],
    weight_g: int | None,
    length_mm: int | None,
    width_mm: int | None,
    height_mm: int | None,
    created_at: datetime,
    updated_at: datetime,
    *,
    variants: list[dict[str, Any]],
    images: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": str(public_id),
        "name": str(name),
        "description": str(description),
        "category": None if category is None else str(category),
        "status": status,
        "tax_code": tax_code,
        "price_includes_gst": bool(price_includes_gst),
        "attributes": {str(key): value for key, value in attributes.items()},
        "weight_g": _whole(weight_g),
        "length_mm": _whole(length_mm),
        "width_mm": _whole(width_mm),
        "height_mm": _whole(height_mm),
        "variants": variants,
        "images": images,
        "created_at": _instant(created_at, zone),
        "updated_at": _instant(updated_at, zone),
    }


_VARIANT_FIELDS = attrgetter(
    "public_id",
    "sku",
    "barcode",
    "options",
    "price",
    "cost",
    "status",
    "position",
    "created_at",
    "updated_at",
)


def variant_data(instance: Variant) -> dict[str, Any]:
    """A variant as `VariantOutput` declares it."""
    return _variant_dict(timezone.get_current_timezone(), *_VARIANT_FIELDS(instance))


def image_data(instance: ProductImage) -> dict[str, Any]:
    """An image as `ImageOutput` declares it."""
    return _image_dict(
        instance.public_id,
        None if instance.variant is None else instance.variant.public_id,
        instance.width,
        instance.height,
        instance.alt_text,
        instance.position,
    )


def product_data(instance: Product) -> dict[str, Any]:
    """A product, its variants and images loaded with it, as `ProductOutput` declares it."""
    return _product_dict(
        timezone.get_current_timezone(),
        instance.public_id,
        instance.name,
        instance.description,
        None if instance.category is None else instance.category.public_id,
        instance.status,
        instance.tax_code,
        instance.price_includes_gst,
        instance.attributes,
        instance.weight_g,
        instance.length_mm,
        instance.width_mm,
        instance.height_mm,
        instance.created_at,
        instance.updated_at,
        variants=[variant_data(item) for item in instance.variants.all()],
        images=[image_data(item) for item in instance.images.all()],
    )


def product_page_data(products: list[tuple[Any, ...]], parts: selectors.ProductParts) -> list[Any]:
    """Product rows (`selectors.product_rows`) with their parts, as `product_data` writes them."""
    zone = timezone.get_current_timezone()
    page = []
    for product_id, *fields in products:
        variants = [_variant_dict(zone, *row) for row in parts.variants.get(product_id, ())]
        images = [_image_dict(*row) for row in parts.images.get(product_id, ())]
        page.append(_product_dict(zone, *fields, variants=variants, images=images))
    return page


class VariantOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    sku = serializers.CharField()
    barcode = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    cost = serializers.DecimalField(max_digits=12, decimal_places=4)
    status = serializers.ChoiceField(choices=VariantStatus.choices)
    position = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: Variant) -> dict[str, Any]:
        return variant_data(instance)


@extend_schema_field(OpenApiTypes.STR)
class ImageFileUrl(serializers.Field):
    """Where one size of an image is served: the image view, keyed by the image's public id
    (storage paths carry internal ids and are never handed out)."""

    def __init__(self, size: str, **kwargs: Any) -> None:
        self.size = size
        super().__init__(source="public_id", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        # Root-relative, the same in every response whatever context the serializer had.
        return reverse("api-catalog-image-file", args=[value, self.size])


class ImageOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    variant = serializers.UUIDField(source="variant.public_id", allow_null=True, default=None)
    original = ImageFileUrl("original", help_text="The uploaded file.")
    thumbnail_large = ImageFileUrl("large", help_text="At most 400 x 400, WebP.")
    thumbnail_small = ImageFileUrl("small", help_text="At most 100 x 100, WebP.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    alt_text = serializers.CharField()
    position = serializers.IntegerField()

    def to_representation(self, instance: ProductImage) -> dict[str, Any]:
        return image_data(instance)


class ProductOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.UUIDField(source="category.public_id", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=ProductStatus.choices)
    tax_code = serializers.ChoiceField(choices=TaxCode.choices)
    price_includes_gst = serializers.BooleanField()
    attributes = serializers.DictField()
    weight_g = serializers.IntegerField(allow_null=True)
    length_mm = serializers.IntegerField(allow_null=True)
    width_mm = serializers.IntegerField(allow_null=True)
    height_mm = serializers.IntegerField(allow_null=True)
    variants = VariantOutput(many=True)
    images = ImageOutput(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: Product) -> dict[str, Any]:
        return product_data(instance)


class VariantInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), help_text='SGD, e.g. "4.50".'
    )
    barcode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    options = serializers.DictField(
        child=serializers.CharField(max_length=80), required=False, default=dict
    )
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0), required=False, default=Decimal(0)
    )
    status = serializers.ChoiceField(
        choices=VariantStatus.choices, required=False, default=VariantStatus.ACTIVE
    )
    position = serializers.IntegerField(min_value=0, required=False)


class VariantUpdateInput(StrictSerializer):
    sku = serializers.CharField(max_length=64, required=False)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    barcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    options = serializers.DictField(child=serializers.CharField(max_length=80), required=False)
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0), required=False
    )
    status = serializers.ChoiceField(choices=VariantStatus.choices, required=False)
    position = serializers.IntegerField(min_value=0, required=False)


class ProductFieldsInput(StrictSerializer):
    """The fields a product update may carry; all optional."""

    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.UUIDField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False)
    tax_code = serializers.ChoiceField(
        choices=TaxCode.choices,
        required=False,
        help_text="SR standard-rated (default), ZR zero-rated, ES33 / ESN33 exempt.",
    )
    price_includes_gst = serializers.BooleanField(
        required=False, help_text="True by default: consumer prices in Singapore include GST."
    )
    attributes = serializers.DictField(required=False)
    weight_g = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    length_mm = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    width_mm = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    height_mm = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class ProductCreateInput(ProductFieldsInput):
    name = serializers.CharField(max_length=200)
    variants = VariantInput(many=True, required=False, default=list)


class ImageInput(StrictSerializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or GIF, at most 10 MB.")
    alt_text = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    variant = serializers.UUIDField(required=False, allow_null=True)


class ImageUpdateInput(StrictSerializer):
    alt_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False)


class SearchResultOutput(serializers.Serializer):
    id = serializers.UUIDField(source="variant.public_id")
    sku = serializers.CharField(source="variant.sku")
    barcode = serializers.CharField(source="variant.barcode")
    options = serializers.DictField(source="variant.options", child=serializers.CharField())
    price = serializers.DecimalField(source="variant.price", max_digits=12, decimal_places=2)
    status = serializers.ChoiceField(source="variant.status", choices=VariantStatus.choices)
    product = serializers.UUIDField(source="variant.product.public_id")
    product_name = serializers.CharField(source="variant.product.name")
    product_status = serializers.ChoiceField(
        source="variant.product.status", choices=ProductStatus.choices
    )
    match = serializers.ChoiceField(
        choices=["exact", "words", "similar"],
        help_text="exact: its SKU or barcode; words: has every word of the query; "
        "similar: a near spelling.",
    )


class ImportInput(StrictSerializer):
    file = serializers.FileField(help_text="The catalog CSV; docs/catalog.md lists its columns.")


class ImportJobOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    total_rows = serializers.IntegerField()
    processed_rows = serializers.IntegerField()
    percent_done = serializers.SerializerMethodField()
    created_count = serializers.IntegerField(help_text="Variants added.")
    updated_count = serializers.IntegerField(help_text="Existing variants changed.")
    errors = serializers.ListField(  # type: ignore[assignment]
        child=serializers.DictField(),
        help_text="When the import failed: each problem with its row, column and message.",
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_percent_done(self, job: ImportJob) -> int:
        if job.status == ImportStatus.SUCCEEDED:
            return 100
        if not job.total_rows:
            return 0
        return min(100, job.processed_rows * 100 // job.total_rows)


# -- helpers --------------------------------------------------------------------------------


def _valid_input(
    serializer_class: type[serializers.Serializer], request: Request, *, partial: bool = False
) -> Any:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _referenced[M: Model](model: type[M], public_id: Any, field: str, what: str) -> M | None:
    """A row named in the input; an unknown id is the input's fault (400), not the URL's."""
    if public_id is None:
        return None
    try:
        return model._default_manager.get(public_id=public_id)
    except ObjectDoesNotExist:
        raise services.invalid(field, f"That {what} was not found in this company.") from None


class CatalogView(APIView):
    """Reading needs catalog.view, changing needs catalog.manage."""

    def get_permissions(self) -> list[BasePermission]:
        action = "catalog.view" if self.request.method in SAFE_METHODS else "catalog.manage"
        return [RoleAllows.to(action)()]


class CatalogListView(CatalogView, ListAPIView):
    pass


def _product(request: Request, public_id: Any) -> Product:
    return by_public_id(
        selectors.product_list(company=acting_company(request)), public_id, "product"
    )


def _product_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "category" in data:
        data["category"] = _referenced(Category, data["category"], "category", "category")
    return data


# -- categories -----------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(summary="The company's categories, as a flat list"))
class CategoryListView(CatalogListView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "slug_taken": "Another category already uses that address (slug).",
        },
    }
    serializer_class = CategoryOutput
    pagination_class = None

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.category_list(company=acting_company(self.request))

    @extend_schema(
        request=CategoryCreateInput,
        responses={201: CategoryOutput},
        summary="Add a category, at the top or under a parent",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(CategoryCreateInput, request)
        data["parent"] = _referenced(Category, data.get("parent"), "parent", "parent category")
        category = services.category_create(company=acting_company(request), **data)
        return Response(CategoryOutput(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailView(CatalogView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "patch": {
            "slug_taken": "Another category already uses that address (slug).",
        },
        "delete": {
            "category_not_empty": "Products or subcategories still use it.",
        },
    }

    def _category(self, public_id: str) -> Category:
        return by_public_id(
            selectors.category_list(company=acting_company(self.request)), public_id, "category"
        )

    @extend_schema(responses={200: CategoryOutput}, summary="One category")
    def get(self, request: Request, public_id: str) -> Response:
        return Response(CategoryOutput(self._category(public_id)).data)

    @extend_schema(
        request=CategoryUpdateInput,
        responses={200: CategoryOutput},
        summary="Rename or move a category (not under itself)",
    )
    def patch(self, request: Request, public_id: str) -> Response:
        category = self._category(public_id)
        data = _valid_input(CategoryUpdateInput, request)
        if "parent" in data:
            data["parent"] = _referenced(Category, data["parent"], "parent", "parent category")
        category = services.category_update(category=category, **data)
        return Response(CategoryOutput(category).data)

    @extend_schema(responses={204: None}, summary="Remove an empty category")
    def delete(self, request: Request, public_id: str) -> Response:
        services.category_delete(category=self._category(public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- products -------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="The company's products with their variants",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ProductStatus.values),
            OpenApiParameter("category", OpenApiTypes.UUID),
            OpenApiParameter("name", OpenApiTypes.STR, description="Part of the product name."),
        ],
    )
)
class ProductListView(CatalogListView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "sku_taken": "Another variant already has that SKU.",
            "barcode_taken": "Another variant already has that barcode.",
        },
    }
    serializer_class = ProductOutput

    def _filters(self) -> dict[str, Any]:
        params = self.request.query_params
        status_filter = params.get("status") or None
        if status_filter and status_filter not in ProductStatus.values:
            raise services.invalid("status", f"Status is one of {', '.join(ProductStatus.values)}.")
        category = None
        if params.get("category"):
            category = by_public_id(
                selectors.category_list(company=acting_company(self.request)),
                params["category"],
                "category",
            )
        return {
            "status": status_filter,
            "category": category,
            "name_contains": params.get("name", "").strip(),
        }

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of products as rows, with the variants and images of the whole page read at
        once: instances and the ORM's prefetch cost more than the queries."""
        pagination = self.paginator
        assert isinstance(pagination, PagePagination)
        offset, size = pagination.requested_window(request)
        products = selectors.product_page(
            company=acting_company(request), offset=offset, limit=size, **self._filters()
        )
        page = cast(list[tuple[Any, ...]], self.paginate_queryset(products) or [])  # type: ignore[arg-type]
        parts = selectors.product_parts(
            company=acting_company(request), product_ids=[row[0] for row in page]
        )
        return self.get_paginated_response(product_page_data(page, parts))

    @extend_schema(
        request=ProductCreateInput,
        responses={201: ProductOutput},
        summary="Add a product with its variants",
    )
    def post(self, request: Request) -> Response:
        data = _product_fields(_valid_input(ProductCreateInput, request))
        product = services.product_create(company=acting_company(request), **data)
        created = _product(request, product.public_id)
        return _with_price_warnings(
            ProductOutput(created).data,
            list(created.variants.all()),
            http_status=status.HTTP_201_CREATED,
        )


class ProductDetailView(CatalogView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "delete": {
            "product_in_use": "Stock, reservations or orders refer to it: archive it instead.",
        },
    }

    @extend_schema(responses={200: ProductOutput}, summary="One product with its variants")
    def get(self, request: Request, public_id: str) -> Response:
        return Response(ProductOutput(_product(request, public_id)).data)

    @extend_schema(
        request=ProductFieldsInput,
        responses={200: ProductOutput},
        summary="Change a product's details",
    )
    def patch(self, request: Request, public_id: str) -> Response:
        product = _product(request, public_id)
        data = _product_fields(_valid_input(ProductFieldsInput, request))
        services.product_update(product=product, **data)
        return Response(ProductOutput(_product(request, public_id)).data)

    @extend_schema(
        responses={204: None},
        summary="Delete a product that has no stock or sales; archive it otherwise",
    )
    def delete(self, request: Request, public_id: str) -> Response:
        services.product_delete(product=_product(request, public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductVariantsView(CatalogView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "sku_taken": "Another variant already has that SKU.",
            "barcode_taken": "Another variant already has that barcode.",
        },
    }

    @extend_schema(
        request=VariantInput, responses={201: VariantOutput}, summary="Add a variant to a product"
    )
    def post(self, request: Request, public_id: str) -> Response:
        product = _product(request, public_id)
        variant = services.variant_create(product=product, **_valid_input(VariantInput, request))
        return _with_price_warnings(
            VariantOutput(variant).data, [variant], http_status=status.HTTP_201_CREATED
        )


def _with_price_warnings(
    data: Any, variants: list[Variant], http_status: int = status.HTTP_200_OK
) -> Response:
    """The API accepts a price under cost (an integration may know better) but says so in
    `meta.warnings`; pages ask the person to confirm instead."""
    warnings = services.price_warnings(variants)
    meta = {"warnings": warnings} if warnings else {}
    return Response({"status": "success", "data": data, "meta": meta}, status=http_status)


class VariantDetailView(CatalogView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "patch": {
            "sku_taken": "Another variant already has that SKU.",
            "barcode_taken": "Another variant already has that barcode.",
        },
        "delete": {
            "variant_in_use": "Stock, reservations or orders refer to it: archive it instead.",
        },
    }

    def _variant(self, public_id: str) -> Variant:
        variants = selectors.variant_list(company=acting_company(self.request))
        return by_public_id(variants, public_id, "variant")

    @extend_schema(responses={200: VariantOutput}, summary="One variant")
    def get(self, request: Request, public_id: str) -> Response:
        return Response(VariantOutput(self._variant(public_id)).data)

    @extend_schema(
        request=VariantUpdateInput,
        responses={200: VariantOutput},
        summary="Change a variant's price, cost, SKU, barcode, options or status",
    )
    def patch(self, request: Request, public_id: str) -> Response:
        variant = self._variant(public_id)
        fields = _valid_input(VariantUpdateInput, request)
        if "price" in fields and not can(role_of(request), "catalog.price"):
            raise Forbidden(
                "Your role cannot change selling prices; ask an owner or admin.",
                code="permission_denied",
            )
        variant = services.variant_update(variant=variant, **fields)
        return _with_price_warnings(VariantOutput(variant).data, [variant])

    @extend_schema(
        responses={204: None},
        summary="Delete a variant without stock or sales; archive it otherwise",
    )
    def delete(self, request: Request, public_id: str) -> Response:
        services.variant_delete(variant=self._variant(public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- images ---------------------------------------------------------------------------------


class ProductImagesView(CatalogView):
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        request={"multipart/form-data": ImageInput},
        responses={201: ImageOutput},
        summary="Upload a product photo; thumbnails are made at once",
    )
    def post(self, request: Request, public_id: str) -> Response:
        product = _product(request, public_id)
        data = _valid_input(ImageInput, request)
        variant = None
        if data.get("variant"):
            variant = _referenced(Variant, data["variant"], "variant", "variant")
        image = services.product_image_add(
            product=product, upload=data["image"], alt_text=data["alt_text"], variant=variant
        )
        return Response(
            ImageOutput(image, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ImageFileView(CatalogView):
    @extend_schema(
        responses={(200, "image/*"): OpenApiTypes.BINARY},
        summary="One size of an image: original, large (400 px) or small (100 px)",
    )
    def get(self, request: Request, public_id: str, size: str) -> FileResponse:
        found = selectors.image_file(
            company=acting_company(request), public_id=public_id, size=size
        )
        if found is None:
            raise NotFound("There is no such image.", code="not_found")
        return image_response(found)


class ImageDetailView(CatalogView):
    parser_classes = (JSONParser,)

    def _image(self, public_id: str) -> ProductImage:
        images = selectors.image_list(company=acting_company(self.request))
        return by_public_id(images.select_related("variant"), public_id, "image")

    @extend_schema(
        request=ImageUpdateInput,
        responses={200: ImageOutput},
        summary="Change an image's description or position",
    )
    def patch(self, request: Request, public_id: str) -> Response:
        image = services.product_image_update(
            image=self._image(public_id), **_valid_input(ImageUpdateInput, request)
        )
        return Response(ImageOutput(image, context={"request": request}).data)

    @extend_schema(responses={204: None}, summary="Remove an image and its thumbnails")
    def delete(self, request: Request, public_id: str) -> Response:
        services.product_image_delete(image=self._image(public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- search ---------------------------------------------------------------------------------


class SearchView(CatalogView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", OpenApiTypes.STR, required=True, description="Name, SKU or barcode."
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 100; default 20."),
        ],
        responses={200: SearchResultOutput(many=True)},
        summary="Find variants by name, SKU or barcode, best match first",
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        if not query.strip():
            raise services.invalid(
                "q", "Type part of a name, a SKU or a barcode to search for.", "required"
            )
        try:
            limit = int(request.query_params.get("limit", "20"))
        except ValueError:
            raise services.invalid("limit", "The limit is a whole number from 1 to 100.") from None
        if not 1 <= limit <= selectors.SEARCH_MAX_RESULTS:
            raise services.invalid("limit", "The limit is a whole number from 1 to 100.")
        results = selectors.variant_search(
            company=acting_company(request), query=query, limit=limit
        )
        return Response(SearchResultOutput(results, many=True).data)


# -- import and export ----------------------------------------------------------------------


@extend_schema_view(get=extend_schema(summary="Recent catalog imports, newest first"))
class ImportListView(CatalogListView):
    serializer_class = ImportJobOutput
    parser_classes = (MultiPartParser, FormParser)

    def get_queryset(self) -> QuerySet[ImportJob]:
        return selectors.import_job_list(company=acting_company(self.request))

    @extend_schema(
        request={"multipart/form-data": ImportInput},
        responses={202: ImportJobOutput},
        summary="Start importing a catalog CSV; poll the job for progress",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(ImportInput, request)
        job = imports.catalog_import_start(company=acting_company(request), upload=data["file"])
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailView(CatalogView):
    @extend_schema(
        responses={200: ImportJobOutput},
        summary="An import's progress, and its row errors if it failed",
    )
    def get(self, request: Request, public_id: str) -> Response:
        job = by_public_id(
            selectors.import_job_list(company=acting_company(request)), public_id, "import"
        )
        return Response(ImportJobOutput(job).data)


class CsvRenderer(BaseRenderer):
    """Lets a client ask for text/csv; errors still arrive as the JSON envelope's text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return EnvelopeRenderer().render(data, "application/json", renderer_context)


class ExportView(CatalogView):
    renderer_classes = (EnvelopeRenderer, CsvRenderer)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The whole catalog as CSV, in the import's format",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        company = acting_company(request)
        user_id = request.user.pk

        def lines() -> Iterator[str]:
            # The response streams after the request's transaction has ended, so the rows
            # are read in a tenant context (and a transaction) of their own.
            with tenant_context(company, user=user_id):
                option_names = selectors.catalog_option_names(company=company)
                columns = csv_io.export_columns(option_names)
                rows = (
                    csv_io.export_row(values, columns)
                    for values in selectors.catalog_export_rows(
                        company=company, option_names=option_names
                    )
                )
                yield "\ufeff"  # lets Excel read the file as UTF-8
                yield from csv_io.csv_lines([columns])
                yield from csv_io.csv_lines(rows)

        filename = f"catalog-{company.shop_slug}-{timezone.localdate():%Y%m%d}.csv"
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

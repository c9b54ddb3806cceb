"""What the public shop pages read: the shop, its categories, pages of products, one product.

Every read runs in the shop's tenant context, so row-level security holds as everywhere;
each page costs a fixed number of queries whatever it shows (tests/storefront/test_queries.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, Max, Min, Q, QuerySet
from django.utils import timezone

from pasar.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductStatus,
    Variant,
    VariantStatus,
)
from pasar.core.tenant import tenant_context
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory.models import StockLevel
from pasar.sales import services as sales_services
from pasar.sales.models import DeliveryMethod
from pasar.tenancy.models import Company

PER_PAGE = 24
FEW_LEFT = 5  # below this many, a page says how many are left
SORTS = {
    "popular": ("name", "id"),  # until sales are ranked, the catalogue's own order
    "newest": ("-created_at", "-id"),
    "price_low": ("min_price", "id"),
    "price_high": ("-max_price", "id"),
    "name": ("name", "id"),
}


def shop_by_domain(host: str) -> Company | None:
    name = host.split(":", 1)[0].strip().lower().rstrip(".")
    if not name:
        return None
    return Company.objects.filter(shop_domain=name).exclude(shop_domain="").first()


def categories(*, shop: Company) -> list[Category]:
    with tenant_context(shop):
        return list(Category.objects.all())


def subtree_ids(category: Category, every: Sequence[Category]) -> list[int]:
    """The category and everything below it, from the list already read."""
    children: dict[int | None, list[int]] = {}
    for node in every:
        children.setdefault(node.parent_id, []).append(node.pk)
    found, todo = [], [category.pk]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


@dataclass
class Card:
    """A product as a list shows it."""

    product: Product
    min_price: Decimal
    max_price: Decimal
    image: str | None  # the first image's public id
    sellable: int

    @property
    def few_left(self) -> bool:
        return 0 < self.sellable < FEW_LEFT

    @property
    def one_price(self) -> bool:
        return self.min_price == self.max_price


@dataclass
class Filters:
    query: str = ""
    category_ids: list[int] | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    sort: str = "popular"


@dataclass
class Listing:
    page: Page[Any]
    cards: list[Card] = field(default_factory=list)


def _for_sale() -> Q:
    return Q(variants__status=VariantStatus.ACTIVE)


def _catalogue(filters: Filters) -> QuerySet[Product]:
    products = (
        Product.objects.filter(status=ProductStatus.ACTIVE)
        .annotate(
            min_price=Min("variants__price", filter=_for_sale()),
            max_price=Max("variants__price", filter=_for_sale()),
        )
        .filter(min_price__isnull=False)
    )
    if filters.category_ids is not None:
        products = products.filter(category_id__in=filters.category_ids)
    if filters.query:
        matching_skus = Variant.objects.filter(
            sku__iexact=filters.query, status=VariantStatus.ACTIVE
        ).values("product_id")
        products = products.filter(Q(name__icontains=filters.query) | Q(pk__in=matching_skus))
    if filters.min_price is not None:
        products = products.filter(max_price__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(min_price__lte=filters.max_price)
    if filters.in_stock:
        # Units on hand not promised (holds that ran out still count as promised here, so a
        # listing errs towards "sold out"; the product page and the cart count exactly).
        stocked = StockLevel.objects.filter(
            location__is_active=True, on_hand__gt=F("reserved")
        ).values("variant__product_id")
        products = products.filter(pk__in=stocked)
    return products.order_by(*SORTS.get(filters.sort, SORTS["popular"]))


def listing(*, shop: Company, filters: Filters, page: int) -> Listing:
    """One page of the shop's products for a category, a search or the home page."""
    with tenant_context(shop):
        paginator = Paginator(_catalogue(filters), PER_PAGE)
        found = paginator.get_page(page)
        products = list(found.object_list)
        cards = _cards(shop, products)
    return Listing(page=found, cards=cards)


def _cards(shop: Company, products: list[Product]) -> list[Card]:
    ids = [product.pk for product in products]
    if not ids:
        return []
    images: dict[int, str] = {}
    for product_id, public_id in (
        ProductImage.objects.filter(product_id__in=ids)
        .order_by("product_id", "position", "pk")
        .values_list("product_id", "public_id")
    ):
        images.setdefault(product_id, str(public_id))
    variants = list(
        Variant.objects.filter(product_id__in=ids, status=VariantStatus.ACTIVE).only(
            "pk", "product_id"
        )
    )
    sellable = inventory_selectors.channel_sellable(
        company=shop, channel=sales_services.web_channel(shop), variants=variants
    )
    by_product: dict[int, int] = {}
    for variant in variants:
        by_product[variant.product_id] = by_product.get(variant.product_id, 0) + sellable.get(
            variant.pk, 0
        )
    rate = sales_services.gst_rate(shop, timezone.now())
    return [
        Card(
            product=product,
            # min_price and max_price: annotated by _catalogue.
            min_price=sales_services.consumer_price(
                product.min_price,  # type: ignore[attr-defined]
                product.price_includes_gst,
                rate,
            ),
            max_price=sales_services.consumer_price(
                product.max_price,  # type: ignore[attr-defined]
                product.price_includes_gst,
                rate,
            ),
            image=images.get(product.pk),
            sellable=by_product.get(product.pk, 0),
        )
        for product in products
    ]


@dataclass
class Choice:
    variant: Variant
    price: Decimal
    sellable: int
    label: str

    @property
    def few_left(self) -> bool:
        return 0 < self.sellable < FEW_LEFT


@dataclass
class ProductView:
    product: Product
    choices: list[Choice]
    images: list[ProductImage]

    @property
    def sellable(self) -> int:
        return sum(choice.sellable for choice in self.choices)

    @property
    def few_left(self) -> bool:
        return 0 < self.sellable < FEW_LEFT

    @property
    def first_sellable(self) -> Choice | None:
        return next((choice for choice in self.choices if choice.sellable), None)

    @property
    def min_price(self) -> Decimal:
        return min(choice.price for choice in self.choices)

    @property
    def max_price(self) -> Decimal:
        return max(choice.price for choice in self.choices)


def product(*, shop: Company, public_id: Any) -> ProductView | None:
    """A product on sale with its variants (price and what can be sold now) and images."""
    with tenant_context(shop):
        found = (
            Product.objects.filter(public_id=public_id, status=ProductStatus.ACTIVE)
            .select_related("category")
            .first()
        )
        if found is None:
            return None
        variants = list(
            Variant.objects.filter(product=found, status=VariantStatus.ACTIVE).order_by(
                "position", "pk"
            )
        )
        if not variants:
            return None
        images = list(ProductImage.objects.filter(product=found).order_by("position", "pk"))
        sellable = inventory_selectors.channel_sellable(
            company=shop, channel=sales_services.web_channel(shop), variants=variants
        )
    rate = sales_services.gst_rate(shop, timezone.now())
    return ProductView(
        product=found,
        choices=[
            Choice(
                variant=variant,
                price=sales_services.consumer_price(variant.price, found.price_includes_gst, rate),
                sellable=sellable.get(variant.pk, 0),
                label=" / ".join(str(value) for value in (variant.options or {}).values())
                or variant.sku,
            )
            for variant in variants
        ],
        images=images,
    )


def delivery_methods(*, shop: Company) -> list[DeliveryMethod]:
    with tenant_context(shop):
        return list(DeliveryMethod.objects.filter(is_active=True).select_related("pickup_location"))


def sitemap_products(*, shop: Company, limit: int = 50_000) -> list[tuple[Any, str, Any]]:
    """(public id, name, updated at) of every product on sale, for sitemap.xml."""
    with tenant_context(shop):
        return list(
            Product.objects.filter(status=ProductStatus.ACTIVE)
            .order_by("pk")
            .values_list("public_id", "name", "updated_at")[:limit]
        )

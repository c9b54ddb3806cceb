"""Carts: what a shopper means to buy, priced the way the order will be.

`cart_figures` is the one place a cart's money is worked out (the pricing service, the
promotions and delivery), for the page, the API and the order placed from it: each figure the
shopper sees is the figure the order stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pasar.catalog.models import Product, ProductStatus, TaxCode, Variant, VariantStatus
from pasar.core.db import rows
from pasar.core.errors import Conflict, DomainError, NotFound
from pasar.core.money import CENT
from pasar.core.singapore import gst_rate_on
from pasar.core.tenant import is_public_id, tenant_context
from pasar.core.text import has_control_characters
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory import services as inventory_services
from pasar.inventory.models import Channel, ChannelKind
from pasar.sales.models import (
    Address,
    Cart,
    CartLine,
    CartStatus,
    Customer,
    DeliveryKind,
    DeliveryMethod,
)
from pasar.sales.pricing import LineInput, Quote, price
from pasar.sales.services import promotions
from pasar.sales.services.customers import address_fields
from pasar.tenancy.models import Company

ZERO = Decimal(0)
MAX_LINE_QUANTITY = 99
MAX_LINES = 100


class CartError(DomainError):
    code = "invalid_cart"


class NotEnoughStock(Conflict):
    code = "insufficient_stock"


Clock = Any


def gst_rate(company: Company, at: datetime) -> Decimal:
    """The rate a sale made now carries: none when the company is not GST-registered."""
    if not company.gst_registered:
        return ZERO
    return gst_rate_on(timezone.localdate(at))


def consumer_price(price_: Decimal, includes_gst: bool, rate: Decimal) -> Decimal:
    """A shelf price as a consumer pays it: a price kept without GST has it added, to the
    cent (the shop's web prices are always shown and charged GST-inclusive)."""
    if includes_gst or rate == 0:
        return price_
    return (price_ * (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


# Where `web_channel` keeps the channel it read on the company instance it was given: a
# request reads its shop once and prices a cart up to three times with it.
_CHANNEL_KEPT = "_web_channel"


def web_channel(company: Company) -> Channel:
    """The company's web shop channel, opened the first time it sells online; read once for
    each company instance (a request's own)."""
    kept = getattr(company, _CHANNEL_KEPT, None)
    if kept is not None:
        return cast(Channel, kept)
    channel = _web_channel(company)
    setattr(company, _CHANNEL_KEPT, channel)
    return channel


def _web_channel(company: Company) -> Channel:
    with tenant_context(company):
        channel = inventory_selectors.channel_by_kind(company=company, kind=ChannelKind.WEB)
    if channel is None:
        try:
            # Its own savepoint, so that losing the race leaves the caller's block usable.
            with transaction.atomic():
                channel = inventory_services.channel_create(company=company, kind=ChannelKind.WEB)
        except Conflict:  # opened by a concurrent request
            with tenant_context(company):
                channel = inventory_selectors.channel_by_kind(company=company, kind=ChannelKind.WEB)
    assert channel is not None
    return channel


# -- figures ---------------------------------------------------------------------------------


@dataclass
class LineView:
    line: CartLine
    variant: Variant
    unit_price: Decimal  # what one costs now, GST-inclusive
    sellable: int  # what the web shop may still sell of it
    discount: Decimal = ZERO
    net: Decimal = ZERO
    gst: Decimal = ZERO

    @property
    def price_changed(self) -> bool:
        return self.unit_price != self.line.unit_price_seen

    @property
    def short(self) -> bool:
        return self.line.quantity > self.sellable

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.line.quantity


@dataclass
class CartFigures:
    cart: Cart
    lines: list[LineView]
    quote: Quote
    outcome: promotions.Outcome
    delivery: DeliveryMethod | None
    gst_rate: Decimal

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def price_changes(self) -> list[LineView]:
        return [line for line in self.lines if line.price_changed]

    @property
    def short_lines(self) -> list[LineView]:
        return [line for line in self.lines if line.short]

    @property
    def stock_problems(self) -> list[str]:
        """What the shopper must change before checking out: lines short of stock."""
        return [
            f"Only {view.sellable} of {view.variant.product.name} left: please lower the quantity."
            if view.sellable
            else f"{view.variant.product.name} has sold out: please remove it."
            for view in self.short_lines
        ]

    @property
    def problems(self) -> list[str]:
        """Everything the shopper is told about the cart: stock, then changed prices."""
        return self.stock_problems + [
            f"The price of {view.variant.product.name} changed from "
            f"S${view.line.unit_price_seen:,.2f} to S${view.unit_price:,.2f}."
            for view in self.price_changes
        ]


def _shipping(delivery: DeliveryMethod | None, goods: Decimal, free: bool) -> Decimal:
    if delivery is None or free or delivery.kind == DeliveryKind.PICKUP:
        return ZERO
    if delivery.free_above is not None and goods >= delivery.free_above:
        return ZERO
    return delivery.price


_LINE_FIELDS, _LINE_COLUMNS = rows.columns(CartLine, "line")
_VARIANT_FIELDS, _VARIANT_COLUMNS = rows.columns(Variant, "variant")
_PRODUCT_FIELDS, _PRODUCT_COLUMNS = rows.columns(Product, "product")
# Read each time a cart is priced (four times a checkout): as written, it costs a fraction of
# the ORM's building of the same select_related query.
CART_LINES_SQL = (
    f"SELECT {_LINE_COLUMNS}, {_VARIANT_COLUMNS}, {_PRODUCT_COLUMNS}"  # noqa: S608
    f" FROM {CartLine._meta.db_table} AS line"
    f" JOIN {Variant._meta.db_table} AS variant ON variant.id = line.variant_id"
    f" JOIN {Product._meta.db_table} AS product ON product.id = variant.product_id"
    " WHERE line.company_id = %s AND line.cart_id = %s ORDER BY line.id"
)


def _cart_lines(company: Company, cart: Cart) -> list[CartLine]:
    """The cart's lines in the order they were added, each with its variant and product."""
    with connection.cursor() as cursor:
        cursor.execute(CART_LINES_SQL, [company.pk, cart.pk])
        found = cursor.fetchall()
    split, end = len(_LINE_FIELDS), len(_LINE_FIELDS) + len(_VARIANT_FIELDS)
    lines = []
    for row in found:
        line = rows.loaded(CartLine, _LINE_FIELDS, row[:split])
        variant = rows.loaded(Variant, _VARIANT_FIELDS, row[split:end])
        variant.product = rows.loaded(Product, _PRODUCT_FIELDS, row[end:])
        line.variant = variant
        lines.append(line)
    return lines


def cart_figures(*, company: Company, cart: Cart, at: datetime | None = None) -> CartFigures:
    """Every figure of the cart now: prices, stock, promotions, delivery, GST and total.
    A fixed number of queries however many lines (tests/storefront/test_pages.py)."""
    now = at or timezone.now()
    rate = gst_rate(company, now)
    with tenant_context(company):
        stored = _cart_lines(company, cart)
        sellable = (
            inventory_selectors.channel_sellable(
                company=company,
                channel=web_channel(company),
                variants=[line.variant for line in stored],
                at=now,
            )
            if stored
            else {}
        )
        views = [
            LineView(
                line=line,
                variant=line.variant,
                unit_price=consumer_price(
                    line.variant.price, line.variant.product.price_includes_gst, rate
                ),
                sellable=sellable.get(line.variant_id, 0) if _for_sale(line.variant) else 0,
            )
            for line in stored
        ]
        promoted = [
            promotions.PromotedLine(
                key=str(view.line.pk),
                product_id=view.variant.product_id,
                category_id=view.variant.product.category_id,
                gross=view.gross,
            )
            for view in views
        ]
        offers = promotions.candidates(company=company, codes=cart.codes, now=now) if views else []
        outcome = promotions.evaluate(
            offers,
            promoted,
            codes=cart.codes,
            now=now,
            scope_ids=promotions.scope_ids(offers),
            uses_by_customer=promotions.uses_by_email(promotions=offers, email=cart.email),
        )
        delivery = cart.delivery_method if cart.delivery_method_id else None
    goods = sum((view.gross for view in views), ZERO)
    quote = price(
        [
            LineInput(
                key=str(view.line.pk),
                unit_price=view.unit_price,
                quantity=view.line.quantity,
                gst_taxable=view.variant.product.tax_code == TaxCode.STANDARD_RATED,
                discount=outcome.line_discounts.get(str(view.line.pk), ZERO),
            )
            for view in views
        ],
        prices_include_gst=True,
        gst_rate=rate,
        order_discount=outcome.order_discount,
        shipping=_shipping(delivery, goods - outcome.discount, outcome.free_shipping),
    )
    for view, figures in zip(views, quote.lines, strict=True):
        view.discount = figures.line_discount + figures.order_discount
        view.net = figures.net
        view.gst = figures.gst
    return CartFigures(
        cart=cart, lines=views, quote=quote, outcome=outcome, delivery=delivery, gst_rate=rate
    )


def _for_sale(variant: Variant) -> bool:
    return variant.status == VariantStatus.ACTIVE and variant.product.status == ProductStatus.ACTIVE


# -- finding and changing carts -------------------------------------------------------------


def cart_find(
    *,
    company: Company,
    public_id: Any = None,
    customer: Customer | None = None,
) -> Cart | None:
    """The open cart a session names (an account's open cart is found by its customer only),
    or the customer's open cart."""
    with tenant_context(company):
        query = Cart.objects.select_related("delivery_method")
        if customer is not None:
            return query.filter(customer=customer, status=CartStatus.OPEN).first()
        if is_public_id(public_id):
            return query.filter(
                status=CartStatus.OPEN, customer__isnull=True, public_id=public_id
            ).first()
    return None


def cart_open(*, company: Company, customer: Customer | None = None) -> Cart:
    now = timezone.now()
    with tenant_context(company):
        if customer is None:  # a guest's cart meets no other: no savepoint needed
            return Cart.objects.create(company=company, created_at=now, updated_at=now)
        try:
            with transaction.atomic():
                return Cart.objects.create(
                    company=company,
                    customer=customer,
                    email=customer.email,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:  # the customer's cart was opened by a concurrent request
            found = cart_find(company=company, customer=customer)
            assert found is not None
            return found


def _locked(cart: Cart) -> Cart:
    locked = Cart.objects.select_for_update(of=("self",)).filter(pk=cart.pk).first()
    if locked is None:
        raise NotFound("That cart was not found.", code="cart_not_found")
    if locked.status != CartStatus.OPEN:
        raise Conflict("This cart has already been ordered.", code="cart_closed")
    return locked


def _variant(public_id: Any = None, sku: str = "") -> Variant:
    query = Variant.objects.select_related("product")
    if public_id is not None:
        variant = query.filter(public_id=public_id).first() if is_public_id(public_id) else None
    else:
        variant = query.filter(sku=sku).first()
    if variant is None or not _for_sale(variant):
        raise NotFound("That product is not for sale.", code="variant_not_found")
    return variant


def _check_quantity(quantity: Any) -> int:
    try:
        number = int(quantity)
    except (TypeError, ValueError) as error:
        raise CartError("The quantity is a whole number.", code="invalid_quantity") from error
    if not 0 <= number <= MAX_LINE_QUANTITY:
        raise CartError(
            f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}.", code="invalid_quantity"
        )
    return number


def _sellable(company: Company, variant: Variant) -> int:
    return inventory_selectors.channel_sellable(
        company=company, channel=web_channel(company), variants=[variant]
    ).get(variant.pk, 0)


def _refuse_short(variant: Variant, wanted: int, sellable: int) -> None:
    if wanted > sellable:
        name = variant.product.name
        message = f"Only {sellable} of {name} left." if sellable else f"{name} has just sold out."
        raise NotEnoughStock(
            message, details=[{"sku": variant.sku, "available": sellable, "requested": wanted}]
        )


def cart_add(
    *,
    company: Company,
    cart: Cart,
    quantity: Any = 1,
    variant_id: Any = None,
    sku: str = "",
) -> CartLine:
    """Put units of a variant in the cart (added to any already there), no more than the web
    shop may sell; the price seen now is kept to tell the shopper if it changes."""
    wanted = _check_quantity(quantity)
    if wanted < 1:
        raise CartError("Add at least one.", code="invalid_quantity")
    now = timezone.now()
    with tenant_context(company):
        locked = _locked(cart)
        variant = _variant(variant_id, sku)
        lines = list(CartLine.objects.filter(cart=locked))
        line = next((kept for kept in lines if kept.variant_id == variant.pk), None)
        total = wanted + (line.quantity if line else 0)
        if total > MAX_LINE_QUANTITY:
            raise CartError(
                f"At most {MAX_LINE_QUANTITY} of one item per order.", code="invalid_quantity"
            )
        _refuse_short(variant, total, _sellable(company, variant))
        seen = consumer_price(
            variant.price, variant.product.price_includes_gst, gst_rate(company, now)
        )
        if line is None:
            if len(lines) >= MAX_LINES:
                raise CartError(f"A cart holds at most {MAX_LINES} different items.")
            line = CartLine.objects.create(
                company=company,
                cart=locked,
                variant=variant,
                quantity=total,
                unit_price_seen=seen,
                added_at=now,
            )
        else:
            line.quantity = total
            line.unit_price_seen = seen
            line.save(update_fields=["quantity", "unit_price_seen"])
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])
    return line


def cart_set_quantity(*, company: Company, cart: Cart, variant_id: Any, quantity: Any) -> None:
    """Change a line's quantity; zero removes it."""
    wanted = _check_quantity(quantity)
    now = timezone.now()
    with tenant_context(company):
        locked = _locked(cart)
        line = (
            CartLine.objects.filter(cart=locked, variant__public_id=variant_id)
            .select_related("variant__product")
            .first()
        )
        if line is None:
            raise NotFound("That item is not in the cart.", code="line_not_found")
        if wanted == 0:
            line.delete()
        else:
            if wanted > line.quantity:
                _refuse_short(line.variant, wanted, _sellable(company, line.variant))
            line.quantity = wanted
            line.save(update_fields=["quantity"])
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])


def cart_accept_prices(*, company: Company, cart: Cart) -> None:
    """The shopper has seen the new prices: they are the prices seen now."""
    now = timezone.now()
    rate = gst_rate(company, now)
    with tenant_context(company):
        locked = _locked(cart)
        for line in CartLine.objects.filter(cart=locked).select_related("variant__product"):
            seen = consumer_price(line.variant.price, line.variant.product.price_includes_gst, rate)
            if seen != line.unit_price_seen:
                line.unit_price_seen = seen
                line.save(update_fields=["unit_price_seen"])


def cart_apply_code(*, company: Company, cart: Cart, code: str) -> str:
    """Add a promotion code, or raise with why it does not apply (nothing is kept then)."""
    typed = promotions.normal_code(code)
    if not typed or len(typed) > 40 or has_control_characters(typed):
        raise CartError("Enter a promotion code.", code="invalid_code")
    with tenant_context(company):
        locked = _locked(cart)
        if typed in locked.codes:
            return typed
        if len(locked.codes) >= promotions.MAX_CODES:
            raise CartError(f"At most {promotions.MAX_CODES} codes per order.")
        locked.codes = [*locked.codes, typed]
        figures = cart_figures(company=company, cart=locked)
        if typed in figures.outcome.refused:
            raise CartError(figures.outcome.refused[typed], code="code_not_applicable")
        locked.updated_at = timezone.now()
        locked.save(update_fields=["codes", "updated_at"])
    cart.codes = locked.codes  # the caller prices the cart as it is now
    return typed


def cart_remove_code(*, company: Company, cart: Cart, code: str) -> None:
    typed = promotions.normal_code(code)
    with tenant_context(company):
        locked = _locked(cart)
        locked.codes = [kept for kept in locked.codes if kept != typed]
        locked.save(update_fields=["codes"])
    cart.codes = locked.codes  # the caller prices the cart as it is now


def cart_merge(*, company: Company, guest_cart: Cart, customer: Customer) -> Cart:
    """At login: the guest cart's lines join the customer's open cart (quantities added, no
    more than can be sold) and the guest cart is closed."""
    with tenant_context(company):
        target = cart_find(company=company, customer=customer)
        if target is None:
            with transaction.atomic():
                guest = _locked(guest_cart)
                guest.customer = customer
                guest.email = guest.email or customer.email
                guest.save(update_fields=["customer", "email"])
            return guest
        with transaction.atomic():
            first, second = sorted([guest_cart, target], key=lambda c: c.pk)
            locked = {c.pk: _locked(c) for c in (first, second)}
            guest, mine = locked[guest_cart.pk], locked[target.pk]
            have = {line.variant_id: line for line in CartLine.objects.filter(cart=mine)}
            for line in CartLine.objects.filter(cart=guest).select_related("variant__product"):
                sellable = _sellable(company, line.variant)
                if line.variant_id in have:
                    kept = have[line.variant_id]
                    kept.quantity = min(kept.quantity + line.quantity, MAX_LINE_QUANTITY, sellable)
                    kept.quantity = max(kept.quantity, 1)
                    kept.save(update_fields=["quantity"])
                else:
                    line.cart = mine
                    line.quantity = max(1, min(line.quantity, sellable))
                    line.save(update_fields=["cart", "quantity"])
            mine.codes = list(dict.fromkeys([*mine.codes, *guest.codes]))[: promotions.MAX_CODES]
            mine.updated_at = timezone.now()
            mine.save(update_fields=["codes", "updated_at"])
            guest.status = CartStatus.MERGED
            guest.save(update_fields=["status"])
    return mine


# -- checkout details ------------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, limit: int) -> str:
    return " ".join(str(data.get(name) or "").split())[:limit]


def checkout_details(
    *, cart: Cart, customer: Customer | None, addresses: Sequence[Address] = ()
) -> dict[str, Any]:
    """What the checkout form starts with: what the cart holds already, else, for a signed-in
    shopper, their email and their default (or newest) saved address."""
    data: dict[str, Any] = {**cart.shipping_address, "email": cart.email, "phone": cart.phone}
    data["name"] = cart.shipping_address.get("recipient", "")
    data["delivery_method"] = str(cart.delivery_method.public_id) if cart.delivery_method else ""
    if customer is not None and not cart.email:
        data["email"] = customer.email
        if addresses:
            first = addresses[0]
            data.update(
                name=first.recipient,
                phone=first.phone,
                block=first.block,
                street=first.street,
                unit=first.unit,
                building=first.building,
                postal_code=first.postal_code,
            )
    return data


def cart_set_details(*, company: Company, cart: Cart, data: Mapping[str, Any]) -> Cart:
    """What checkout collects: contact, delivery method, and (for delivery) a Singapore
    address. Every problem at once (CartError details, by field); nothing kept then."""
    problems: dict[str, str] = {}
    email = _text(data, "email", 254).lower()
    phone = _text(data, "phone", 20)
    name = _text(data, "name", 150)
    if "@" not in email or "." not in email.rpartition("@")[2] or has_control_characters(email):
        problems["email"] = "Enter an email address, e.g. name@example.com."
    if phone and not phone.replace("+", "").replace(" ", "").isdigit():
        problems["phone"] = "A phone number has digits only, e.g. +65 9123 4567."
    if not name:
        problems["name"] = "Enter the name the order is for."
    with tenant_context(company):
        chosen = str(data.get("delivery_method") or "")
        delivery = (
            DeliveryMethod.objects.filter(public_id=chosen, is_active=True).first()
            if is_public_id(chosen)
            else None
        )
        if delivery is None:
            problems["delivery_method"] = "Choose how the order reaches you."
        address: dict[str, str] = {}
        if delivery is None or delivery.kind != DeliveryKind.PICKUP:
            fields = address_fields(data, problems)
            if fields:
                address = {"recipient": name, "phone": phone, **fields}
        if problems:
            raise CartError(
                "Please check: " + ", ".join(field.replace("_", " ") for field in problems) + ".",
                code="invalid_details",
                details=[
                    {"field": field, "code": "invalid", "message": message}
                    for field, message in problems.items()
                ],
            )
        locked = _locked(cart)
        locked.email = email
        locked.phone = phone
        locked.shipping_address = address or {"recipient": name, "phone": phone}
        locked.delivery_method = delivery
        locked.marketing_consent = str(data.get("marketing_consent", "")).lower() in {
            "1",
            "true",
            "on",
            "yes",
        }
        locked.updated_at = timezone.now()
        changed = [
            "email",
            "phone",
            "shipping_address",
            "delivery_method",
            "marketing_consent",
            "updated_at",
        ]
        locked.save(update_fields=changed)
    for name in changed:  # the caller prices the cart as it is now
        setattr(cart, name, getattr(locked, name))
    return locked

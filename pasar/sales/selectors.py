"""Reads of the sales context: carts, orders, customers, for pages and the API."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from pasar.catalog.models import Variant
from pasar.core.tenant import is_public_id, tenant_context, tenant_rows
from pasar.payments import selectors as payment_selectors
from pasar.payments import services as payment_services
from pasar.payments.models import Payment
from pasar.sales.models import (
    Address,
    Cart,
    CartLine,
    CartStatus,
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Promotion,
    ReturnRequest,
    Shipment,
)
from pasar.tenancy.models import Company

# The units in an open cart, chosen by its owner (`{owner}`); written out by hand, as every
# page a shopper with a session sees reads it.
_OPEN_CART_UNITS_SQL = """
SELECT coalesce(sum(line.quantity), 0)::bigint
FROM sales_cartline AS line
JOIN sales_cart AS cart ON cart.id = line.cart_id AND cart.company_id = line.company_id
WHERE line.company_id = %s AND cart.status = %s AND {owner}
"""
_BY_SHOPPER = _OPEN_CART_UNITS_SQL.format(
    owner="cart.customer_id = (SELECT id FROM sales_customer WHERE company_id = line.company_id"
    " AND shopper_id = %s)"
)
_BY_GUEST_CART = _OPEN_CART_UNITS_SQL.format(
    owner="cart.public_id = %s AND cart.customer_id IS NULL"
)


def open_cart_units(*, company: Company, shopper_id: Any = None, cart_public_id: Any = None) -> int:
    """The units in the open cart a shop header counts, in one round trip: a signed-in
    shopper's own cart, else the guest cart a session names."""
    if shopper_id:
        sql, owner = _BY_SHOPPER, int(shopper_id)
    elif is_public_id(cart_public_id):
        sql, owner = _BY_GUEST_CART, cart_public_id
    else:
        return 0
    ((units,),) = tenant_rows(company, sql, [company.pk, CartStatus.OPEN, owner])
    return int(units)


def cart_item_count(*, company: Company, cart: Cart) -> int:
    with tenant_context(company):
        return CartLine.objects.filter(cart=cart).aggregate(units=Sum("quantity"))["units"] or 0


def addresses(*, company: Company, customer: Customer) -> list[Address]:
    with tenant_context(company):
        return list(Address.objects.filter(customer=customer))


def order_for_shop_page(*, company: Company, public_id: Any) -> Order | None:
    with tenant_context(company):
        return Order.objects.select_related("customer").filter(public_id=public_id).first()


def order_lines(*, company: Company, order: Order) -> list[OrderLine]:
    with tenant_context(company):
        return list(OrderLine.objects.filter(order=order))


def order_payment(*, company: Company, order: Order) -> Payment | None:
    """The order's payment, its status brought up to date (expired once past its time)."""
    if order.payment_id is None:
        return None
    with tenant_context(company):
        payment = payment_selectors.payment(company=company, public_id=order.payment_id)
    if payment is None:
        return None
    return payment_services.payment_expire_if_due(payment)


def payment_attempt(*, company: Company, payment: Payment) -> Any:
    """The attempt the shopper continues with (its PayNow QR or hosted page), if any."""
    with tenant_context(company):
        return payment_selectors.current_attempt(payment=payment)


def pay_methods(*, company: Company) -> list[str]:
    """The ways the shop takes payment: "paynow", "card", "grabpay"."""
    with tenant_context(company):
        return [method.value for method in payment_selectors.methods_offered(company=company)]


def customer_orders(*, company: Company, customer: Customer) -> list[Order]:
    """A shopper's latest orders, for their account page."""
    with tenant_context(company):
        return list(customer_order_history(company=company, customer=customer)[:50])


# -- the back office -------------------------------------------------------------------------------

ORDER_SORTS = {
    "newest": ("-placed_at", "-pk"),
    "oldest": ("placed_at", "pk"),
    "total_high": ("-total", "-pk"),
    "total_low": ("total", "pk"),
    "number": ("-number",),
}


def order_list(
    *,
    company: Company,
    status: str = "",
    query: str = "",
    sort: str = "newest",
    stock_problem: bool = False,
) -> QuerySet[Order]:
    """The company's orders for the office list and the API (in its tenant context)."""
    orders = Order.objects.select_related("customer")
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    if stock_problem:
        orders = orders.exclude(stock_problem="")
    if query:
        orders = orders.filter(
            Q(number__iexact=query)
            | Q(email__icontains=query)
            | Q(customer__full_name__icontains=query)
        )
    return orders.order_by(*ORDER_SORTS.get(sort, ORDER_SORTS["newest"]))


def order_status_counts(*, company: Company) -> dict[str, int]:
    with tenant_context(company):
        return dict(
            Order.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        )


def order_get(*, company: Company, public_id: Any) -> Order | None:
    with tenant_context(company):
        return (
            Order.objects.select_related("customer", "reservation", "pickup_location")
            .filter(public_id=public_id)
            .first()
        )


def order_timeline(*, company: Company, order: Order) -> list[OrderHistory]:
    with tenant_context(company):
        return list(OrderHistory.objects.filter(order=order).select_related("actor"))


def order_shipments(*, company: Company, order: Order) -> list[Shipment]:
    with tenant_context(company):
        return list(
            Shipment.objects.filter(order=order)
            .select_related("location")
            .prefetch_related("lines__order_line")
        )


def order_returns(*, company: Company, order: Order) -> list[ReturnRequest]:
    with tenant_context(company):
        return list(
            ReturnRequest.objects.filter(order=order)
            .select_related("location")
            .prefetch_related("lines__order_line")
        )


def customer_list(*, company: Company, query: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.annotate(
        order_count=Count("orders"),
        spent=Sum("orders__total", filter=~Q(orders__status="cancelled")),
    )
    if query:
        customers = customers.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
    return customers.order_by("-created_at", "-pk")


def customer_get(*, company: Company, public_id: Any) -> Customer | None:
    """One customer with what they have spent (in the company's tenant context)."""
    if not is_public_id(public_id):
        return None
    return customer_list(company=company).filter(public_id=public_id).first()


def customer_order_history(*, company: Company, customer: Customer) -> QuerySet[Order]:
    """Every order of a customer, newest first, for the office (in the tenant context)."""
    return Order.objects.filter(customer=customer).order_by("-placed_at", "-pk")


def promotion_chosen(*, company: Company, promotion: Promotion) -> tuple[list[str], list[str]]:
    """What a promotion applies to, as its form shows it: the categories' public ids, and one
    SKU for each chosen product (any of its SKUs chooses it whole)."""
    with tenant_context(company):
        categories = [str(c) for c in promotion.categories.values_list("public_id", flat=True)]
        first_sku: dict[int, str] = {}
        for product_id, sku in (
            Variant.objects.filter(product__in=promotion.products.all())
            .order_by("product_id", "position", "pk")
            .values_list("product_id", "sku")
        ):
            first_sku.setdefault(product_id, sku)
    return categories, sorted(first_sku.values())


def promotion_list(*, company: Company) -> QuerySet[Promotion]:
    return Promotion.objects.order_by("-created_at")

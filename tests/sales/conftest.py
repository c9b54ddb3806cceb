from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.utils import timezone

from pasar.catalog.models import TaxCode, Variant
from pasar.core.tenant import tenant_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import Channel, ChannelKind, Location
from pasar.payments import services as payment_services
from pasar.payments.models import GatewayAccount, Payment
from pasar.sales import services
from pasar.sales.models import Cart, DeliveryKind, DeliveryMethod, Order
from pasar.tenancy.models import Company
from tests.factories import LocationFactory, TenantFactory
from tests.inventory.factories import ChannelFactory, ProductFactory, VariantFactory
from tests.payments.conftest import django_transport


class DeliveryFactory(TenantFactory):
    class Meta:
        model = DeliveryMethod

    name = "Standard delivery"
    kind = DeliveryKind.FLAT_RATE
    price = Decimal("4.00")
    free_above = Decimal("60.00")


@dataclass
class Store:
    company: Company
    warehouse: Location
    store: Location
    web: Channel
    kopi: Variant  # S$18.90, 10 in the warehouse
    teh: Variant  # S$12.50, 3 in the warehouse and 2 in the store
    delivery: DeliveryMethod
    pickup: DeliveryMethod
    sandbox: GatewayAccount


ADDRESS = {
    "email": "siti@example.com",
    "name": "Siti Rahman",
    "phone": "+65 9123 4567",
    "block": "Blk 123",
    "street": "Ang Mo Kio Ave 3",
    "unit": "#05-12",
    "postal_code": "560123",
}


@pytest.fixture
def store(company: Company) -> Store:
    """A GST-registered shop with two products in stock, delivery, pickup and the sandbox."""
    company.gst_registered = True
    company.gst_number = "M90312345A"
    company.save()
    warehouse = LocationFactory(company=company, name="Jurong warehouse", allocation_priority=1)
    shop = LocationFactory(company=company, name="Tiong Bahru store", allocation_priority=2)
    kopi = VariantFactory(
        company=company,
        sku="KOPI-250",
        price=Decimal("18.90"),
        product=ProductFactory(company=company, name="Kopi 250g", tax_code=TaxCode.STANDARD_RATED),
    )
    teh = VariantFactory(
        company=company,
        sku="TEH-100",
        price=Decimal("12.50"),
        product=ProductFactory(company=company, name="Teh tarik 100g"),
    )
    inventory_services.stock_receive(
        company=company, variant=kopi, location=warehouse, quantity=10, unit_cost=Decimal("6")
    )
    inventory_services.stock_receive(
        company=company, variant=teh, location=warehouse, quantity=3, unit_cost=Decimal("4")
    )
    inventory_services.stock_receive(
        company=company, variant=teh, location=shop, quantity=2, unit_cost=Decimal("4")
    )
    return Store(
        company=company,
        warehouse=warehouse,
        store=shop,
        web=ChannelFactory(company=company, kind=ChannelKind.WEB),
        kopi=kopi,
        teh=teh,
        delivery=DeliveryFactory(company=company),
        pickup=DeliveryFactory(
            company=company,
            name="Pick up at Tiong Bahru",
            kind=DeliveryKind.PICKUP,
            price=Decimal(0),
            free_above=None,
            pickup_location=shop,
        ),
        sandbox=payment_services.sandbox_enable(company=company),
    )


@pytest.fixture
def filled_cart(store: Store) -> Callable[..., Cart]:
    """A cart with the given SKUs and quantities and checkout details filled in."""

    def fill(
        *lines: tuple[Variant, int], delivery: DeliveryMethod | None = None, **details: Any
    ) -> Cart:
        cart = services.cart_open(company=store.company)
        for variant, quantity in lines:
            services.cart_add(company=store.company, cart=cart, sku=variant.sku, quantity=quantity)
        return services.cart_set_details(
            company=store.company,
            cart=cart,
            data={
                **ADDRESS,
                "delivery_method": str((delivery or store.delivery).public_id),
                **details,
            },
        )

    return fill


@pytest.fixture
def to_app() -> dict[str, httpx.Client]:
    return {"sandbox": httpx.Client(transport=django_transport())}


@pytest.fixture
def pay_order(store: Store, to_app: dict[str, httpx.Client]) -> Callable[[Order], Order]:
    """Pay an order through the sandbox: PayNow chosen, "Pay" pressed, the signed webhook lands."""

    def pay(order: Order) -> Order:
        started = services.order_payment_start(
            company=store.company,
            order=order,
            method="paynow",
            base_url="http://testserver",
            return_url="http://testserver/done",
        )
        status = payment_services.sandbox_charge_settle(
            company=store.company,
            provider_reference=started.attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )
        assert status == 200
        return reload(store.company, order)

    return pay


def reload(company: Company, order: Order) -> Order:
    with tenant_context(company):
        return Order.objects.select_related("reservation").get(pk=order.pk)


def payment_of(company: Company, order: Order) -> Payment:
    with tenant_context(company):
        return Payment.objects.get(public_id=order.payment_id)


def now() -> Any:
    return timezone.now()

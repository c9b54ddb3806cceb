"""`manage.py seed_demo`: the demo data the README promises, and running it twice is harmless."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone
from stdnum.sg import uen as stdnum_uen

from pasar.catalog.models import Product, ProductStatus, TaxCode, Variant
from pasar.catalog.rules import gtin_check_digit
from pasar.core.tenant import platform_access, tenant_context
from pasar.gst.services import f5_compute
from pasar.inventory.models import Location, MovementKind, StockMovement, Transfer
from pasar.inventory.selectors import low_stock_list, stock_drift
from pasar.ledger.models import Document, JournalEntry, JournalLine
from pasar.payments.models import Payment, PaymentStatus, ReviewReason, WebhookLog
from pasar.sales.models import Customer, Order, OrderStatus, Promotion
from pasar.tenancy.models import Company, Invitation, Membership, User

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    # A year's orders cost a minute; the orders that show every state are made whatever the count.
    call_command("seed_demo", orders=0, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    with platform_access(reason="test: count the demo rows"):
        return {
            "users": User.objects.count(),
            "companies": Company.objects.count(),
            "memberships": Membership.objects.count(),
            "invitations": Invitation.objects.count(),
            "locations": Location.objects.count(),
            "products": Product.objects.count(),
            "variants": Variant.objects.count(),
            "movements": StockMovement.objects.count(),
            "payments": Payment.objects.count(),
            "webhooks": WebhookLog.objects.count(),
        }


def test_the_demo_has_both_companies_every_staff_role_and_their_locations() -> None:
    output = seed()
    kopi = Company.objects.get(shop_slug="kopi-kakis")
    assert kopi.legal_name == "Kopi Kakis Pte. Ltd."
    assert stdnum_uen.is_valid(kopi.uen)
    assert (kopi.gst_registered, kopi.gst_period) == (True, "quarterly")
    assert kopi.gst_number
    with tenant_context(kopi):
        roles = dict(Membership.objects.values_list("user__email", "role"))
        locations = dict(Location.objects.values_list("name", "kind"))
    assert roles == {
        "owner@kopikakis.example": "owner",
        "admin@kopikakis.example": "admin",
        "finance@kopikakis.example": "finance",
        "warehouse@kopikakis.example": "warehouse",
        "sales@kopikakis.example": "sales",
    }
    assert locations == {"Tiong Bahru Cafe": "store", "Jurong Warehouse": "warehouse"}

    lion = Company.objects.get(shop_slug="lion-brew")
    assert lion.legal_name == "Lion Brew Pte. Ltd."
    with tenant_context(lion):
        assert list(Membership.objects.values_list("user__email", "role")) == [
            ("owner@lionbrew.example", "owner")
        ]
        assert Location.objects.count() == 1

    platform = User.objects.get(email="platform@pasar.example")
    assert platform.is_staff
    assert platform.is_superuser
    assert "Kopi Kakis Pte. Ltd." in output
    assert "platform@pasar.example" in output


@pytest.mark.parametrize(
    "email",
    [
        "owner@kopikakis.example",
        "finance@kopikakis.example",
        "owner@lionbrew.example",
        "platform@pasar.example",
    ],
)
def test_every_demo_login_uses_the_demo_password(email: str) -> None:
    seed()
    request = RequestFactory().post("/login/")
    assert authenticate(request=request, email=email, password="pasar-demo") is not None


def test_running_it_again_changes_nothing() -> None:
    seed()
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "nothing was added" in output


def test_kopi_kakis_has_a_believable_catalog_with_weeks_of_stock_history() -> None:
    seed()
    kopi = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(kopi):
        products = list(Product.objects.select_related("category"))
        variants = list(Variant.objects.all())
        movements = StockMovement.objects.all()
        kinds = set(movements.values_list("kind", flat=True))
        oldest = movements.order_by("created_at").first()
        adjustments = list(movements.filter(kind=MovementKind.ADJUSTMENT))
        low = list(low_stock_list(company=kopi))
        in_transit = Transfer.objects.filter(status="in_transit").count()
        sizes = set(
            Variant.objects.filter(sku__startswith="KK-BN-SUM").values_list(
                "options__size", flat=True
            )
        )

    assert len(products) >= 60
    assert all(product.status == ProductStatus.ACTIVE for product in products)
    assert {product.category.name for product in products} >= {"Beans", "Drinks", "Gift sets"}
    assert sizes == {"250g", "500g", "1kg"}
    tax_codes = [product.tax_code for product in products]
    assert tax_codes.count(TaxCode.STANDARD_RATED) > len(products) * 0.9
    barcodes = [variant.barcode for variant in variants if variant.barcode]
    assert len(barcodes) > 50
    assert all(code[-1] == gtin_check_digit(code[:-1]) for code in barcodes)
    assert all(len(code) == 13 for code in barcodes)

    assert kinds >= {
        MovementKind.RECEIPT,
        MovementKind.SALE,
        MovementKind.ADJUSTMENT,
        MovementKind.TRANSFER_OUT,
        MovementKind.TRANSFER_IN,
        MovementKind.COUNT_CORRECTION,
    }
    assert oldest is not None
    assert (timezone.now() - oldest.created_at).days >= 35
    assert all(adjustment.reason for adjustment in adjustments)
    assert low, "the low stock list should show something"
    assert in_transit == 1
    assert stock_drift(company=kopi) == []


def test_lion_brew_gets_a_handful_of_its_own_products() -> None:
    seed()
    lion = Company.objects.get(shop_slug="lion-brew")
    with tenant_context(lion):
        skus = set(Variant.objects.values_list("sku", flat=True))
        assert 3 <= Product.objects.count() <= 10
        assert StockMovement.objects.filter(kind=MovementKind.RECEIPT).exists()
    assert all(sku.startswith("LB-") for sku in skus)
    assert stock_drift(company=lion) == []


def test_kopi_kakis_has_a_week_of_payments_in_every_state_through_the_sandbox() -> None:
    seed()
    company = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        statuses = dict(Payment.objects.values_list("reference", "status"))
        late = Payment.objects.get(reference="LINK-0106")
        logs = list(
            WebhookLog.objects.filter(payment__reference__startswith="LINK-").values_list(
                "outcome", flat=True
            )
        )
    assert statuses["LINK-0101"] == PaymentStatus.CAPTURED
    assert statuses["LINK-0102"] == PaymentStatus.PARTIALLY_REFUNDED
    assert statuses["LINK-0105"] == PaymentStatus.REFUNDED
    assert statuses["LINK-0104"] == PaymentStatus.EXPIRED
    assert statuses["LINK-0108"] == PaymentStatus.PENDING
    assert late.status == PaymentStatus.EXPIRED
    assert late.review_reason == ReviewReason.CAPTURED_AFTER_EXPIRY
    # Every settled charge reached the shop as a verified webhook.
    assert len(logs) == 6
    assert set(logs) == {"processed"}


def test_kopi_kakis_has_orders_in_every_state_with_customers_and_promotions() -> None:
    seed()
    company = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        statuses = set(Order.objects.values_list("status", flat=True))
        paid_uncommitted = Order.objects.filter(status=OrderStatus.PAID).exclude(
            reservation__status="committed"
        )
        assert not paid_uncommitted.exists()
        assert Customer.objects.filter(shopper__isnull=False).count() == 6
        assert Promotion.objects.count() == 3
    assert statuses == set(OrderStatus.values)
    assert stock_drift(company=company) == []


def test_an_order_of_the_demo_year_restocks_what_the_shop_lacks() -> None:
    """The year's orders refill a variant the web shop cannot sell enough of (as a roaster's
    delivery) before ordering it: the path the full `make demo` takes many times."""
    from pasar.backoffice.demo_sales import SalesHistory
    from pasar.inventory.selectors import channel_sellable
    from pasar.sales.models import DeliveryMethod
    from pasar.sales.services import web_channel

    seed()
    company = Company.objects.get(shop_slug="kopi-kakis")
    owner = User.objects.get(email="owner@kopikakis.example")
    with tenant_context(company):
        store = Location.objects.get(name="Jurong Warehouse")
        variant = Variant.objects.select_related("product").filter(price__gt=0).first()
        history = SalesHistory(
            company,
            owner,
            [variant],
            list(DeliveryMethod.objects.all()),
            ["grace@shopper.example"],
            store,
            store,
            orders=0,
        )
    channel = web_channel(company)
    before = channel_sellable(company=company, channel=channel, variants=[variant])[variant.pk]
    history._restock(variant, before + 5, timezone.now())
    after = channel_sellable(company=company, channel=channel, variants=[variant])[variant.pk]
    assert after == before + 5 + 12
    assert stock_drift(company=company) == []


def test_it_refuses_to_run_in_production(settings) -> None:
    settings.PASAR_ENV = "production"
    before = snapshot()
    with pytest.raises(CommandError, match="PASAR_ENV=production"):
        seed()
    assert snapshot() == before
    with platform_access(reason="test: no demo superuser"):
        assert not User.objects.filter(email="platform@pasar.example").exists()


def test_the_demo_orders_paid_are_in_the_books_and_the_f5_adds_them_up() -> None:
    seed()
    company = Company.objects.get(shop_slug="kopi-kakis")
    with tenant_context(company):
        paid = Order.objects.filter(paid_at__isnull=False, total__gt=0)
        sales = JournalEntry.objects.filter(source="sale")
        documents = Document.objects.filter(corrects__isnull=True)
        assert set(documents.values_list("order_number", flat=True)) == set(
            paid.values_list("number", flat=True)
        )
        # Each sale's entry names its document.
        assert set(sales.values_list("reference", flat=True)) == set(
            documents.values_list("number", flat=True)
        )
        first = sales.order_by("date").first()
        output_tax = JournalLine.objects.filter(
            account__role="gst_output", date__lt=timezone.localdate()
        )
        expected = sum((line.tax for line in output_tax), Decimal(0))
    assert first is not None
    found = f5_compute(
        company=company, start=first.date, end=timezone.localdate() - timedelta(days=1)
    )
    assert found.box(6) == expected > 0
    assert found.box(4) == found.box(1) + found.box(2) + found.box(3)

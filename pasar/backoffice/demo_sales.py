"""The demo shop's sales: delivery methods, promotions, customers (some with accounts) and a
year of web orders in every state an owner meets: waiting for payment, paid and ready to pack,
being packed, shipped, delivered, completed, cancelled unpaid, cancelled and refunded, and
partly returned.

Every order goes the real way, through the sales services with their clock set in the past:
a cart, a checkout that reserves stock and opens the payment, the sandbox's signed webhook
handed to the webhook service, then shipping, delivery and returns. Stock is topped up from
the roaster when an order would run a shelf dry, as a shop would reorder.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from pasar.backoffice.demo_payments import DEMO_BASE_URL, delivered_in_process
from pasar.catalog.models import Category, ProductStatus, Variant, VariantStatus
from pasar.core.errors import DomainError
from pasar.core.events import relay_pending
from pasar.core.tenant import tenant_context
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory import services as inventory_services
from pasar.inventory.models import Location, LocationKind
from pasar.payments import services as payment_services
from pasar.sales import services as sales_services
from pasar.sales.models import DeliveryKind, DeliveryMethod, Order, OrderLine, OrderStatus
from pasar.tenancy import services as tenancy_services
from pasar.tenancy.models import Company, User

SHOPPER_PASSWORD = "teh-tarik-kaya-toast"  # noqa: S105 - published demo login of shop accounts
ORDERS = 200  # spread over the year, besides the STORY
DAYS = 365
# Orders whose fate is chosen, so that every state shows however few orders are asked for:
# (days ago, what became of it).
STORY = [
    (0.01, "waiting"),
    (0.03, "waiting"),
    (0.2, "paid"),
    (0.35, "paid"),
    (1.0, "processing"),
    (2.5, "shipped"),
    (6.0, "delivered"),
    (20.0, "expired"),
    (25.0, "cancelled"),
    (32.0, "returned"),
    (40.0, "completed"),
]

CUSTOMERS = [
    ("Nur Aisyah", "aisyah"),
    ("Tan Wei Ming", "weiming"),
    ("Priya Raman", "priya"),
    ("Jason Lim", "jason"),
    ("Chen Xiu Ying", "xiuying"),
    ("Muhammad Hafiz", "hafiz"),
    ("Grace Ong", "grace"),
    ("Ravi Kumar", "ravi"),
    ("Lee Hui Min", "huimin"),
    ("Ahmad Firdaus", "firdaus"),
    ("Sarah Teo", "sarah"),
    ("Kenneth Goh", "kenneth"),
    ("Divya Menon", "divya"),
    ("Ng Jun Jie", "junjie"),
    ("Michelle Chua", "michelle"),
    ("Syafiqah Osman", "syafiqah"),
    ("Bryan Yeo", "bryan"),
    ("Kavitha Pillai", "kavitha"),
    ("Wong Kai Xuan", "kaixuan"),
    ("Elaine Sim", "elaine"),
    ("Haziq Rahim", "haziq"),
    ("Joanne Tay", "joanne"),
    ("Marcus Chia", "marcus"),
    ("Lakshmi Devi", "lakshmi"),
]
ACCOUNTS = {"aisyah", "weiming", "priya", "grace", "sarah", "marcus"}
STREETS = [
    ("123", "Ang Mo Kio Avenue 3", "#05-12", "560123"),
    ("456", "Tampines Street 42", "#11-305", "520456"),
    ("21", "Jalan Bukit Merah", "#08-21", "150021"),
    ("9", "Holland Grove Road", "", "278794"),
    ("302", "Punggol Central", "#14-88", "820302"),
    ("78", "Yishun Ring Road", "#03-441", "760078"),
    ("15", "Bedok North Street 1", "#10-07", "460015"),
    ("6", "Toa Payoh Lorong 8", "#02-17", "310006"),
]


def seed_sales(company: Company, owner: User, *, orders: int = ORDERS) -> str | None:
    """Add the demo shop's sales; None when they are there already."""
    with tenant_context(company):
        if DeliveryMethod.objects.exists():
            return None
        locations = list(inventory_selectors.location_list(company=company))
        shop = next(loc for loc in locations if loc.kind == LocationKind.STORE)
        store = next((loc for loc in locations if loc.kind == LocationKind.WAREHOUSE), shop)
        delivery = DeliveryMethod.objects.create(
            company=company,
            name="Standard delivery (2-3 working days)",
            kind=DeliveryKind.FLAT_RATE,
            price=Decimal("4.00"),
            free_above=Decimal("60.00"),
            position=1,
        )
        pickup = DeliveryMethod.objects.create(
            company=company,
            name=f"Pick up at {shop.name}",
            kind=DeliveryKind.PICKUP,
            price=Decimal(0),
            pickup_location=shop,
            position=2,
        )
        coffee = Category.objects.filter(slug="coffee").first()
        variants = list(
            Variant.objects.filter(
                status=VariantStatus.ACTIVE, product__status=ProductStatus.ACTIVE
            ).select_related("product")
        )
    _promotions(company, owner, coffee)
    emails = _customers(company)
    history = SalesHistory(
        company, owner, variants, [delivery, pickup], emails, store, shop, orders=orders
    )
    placed = history.write()
    return (
        f"{placed} web orders over a year, {len(emails)} customers and 3 promotions "
        f"of {company.legal_name}"
    )


def _promotions(company: Company, owner: User, coffee: Category | None) -> None:
    year_ago = timezone.now() - timedelta(days=DAYS + 1)
    sales_services.promotion_save(
        company=company,
        actor=owner,
        data={
            "name": "Welcome: 10% off your first order",
            "code": "WELCOME10",
            "kind": "percentage",
            "value": "10",
            "min_spend": "30",
            "per_customer_limit": 1,
            "starts_at": year_ago,
        },
    )
    sales_services.promotion_save(
        company=company,
        actor=owner,
        data={
            "name": "S$5 off coffee",
            "code": "KOPI5",
            "kind": "fixed",
            "value": "5",
            "scope": "categories" if coffee else "order",
            "min_spend": "25",
            "stackable": True,
            "usage_limit": 500,
            "starts_at": year_ago,
        },
        categories=[coffee] if coffee else [],
    )
    sales_services.promotion_save(
        company=company,
        actor=owner,
        data={
            "name": "Free delivery over S$40",
            "kind": "free_shipping",
            "min_spend": "40",
            "stackable": True,
            "starts_at": year_ago,
        },
    )


def _customers(company: Company) -> list[str]:
    emails = []
    for full_name, handle in CUSTOMERS:
        email = f"{handle}@shopper.example"
        emails.append(email)
        if handle in ACCOUNTS:
            shopper = tenancy_services.shopper_register(
                company=company, email=email, password=SHOPPER_PASSWORD, full_name=full_name
            )
            sales_services.customer_for_shopper(company=company, shopper=shopper)
    return emails


class SalesHistory:
    """A year of a small shop's web orders, oldest first, most of them long completed."""

    def __init__(
        self,
        company: Company,
        owner: User,
        variants: list[Variant],
        deliveries: list[DeliveryMethod],
        emails: list[str],
        store: Location,
        pickup: Location,
        orders: int,
    ) -> None:
        self.company = company
        self.owner = owner
        self.variants = [v for v in variants if v.price > 0]
        self.deliveries = deliveries
        self.emails = emails
        self.store = store
        self.pickup = pickup
        self.orders = orders
        self.random = random.Random(f"pasar-demo-sales:{company.shop_slug}")  # noqa: S311
        self.now = timezone.now()
        self.names = dict((f"{handle}@shopper.example", name) for name, handle in CUSTOMERS)

    def write(self) -> int:
        placed = 0
        # The orders that show every state whatever the count, then the year around them.
        plan = [*STORY, *((self.random.uniform(3.5, DAYS), "") for _ in range(self.orders))]
        for days_ago, outcome in sorted(plan, reverse=True):
            self._order(self.now - timedelta(days=days_ago), outcome or self._outcome(days_ago))
            placed += 1
        relay_pending(limit=1000)
        return placed

    def _outcome(self, days_ago: float) -> str:
        """What became of an order of that age: most were paid and went all the way."""
        roll = self.random.random()
        if roll < 0.06:
            return "expired"
        if roll < 0.09:
            return "cancelled"
        if roll > 0.95:
            return "returned"
        return "completed" if days_ago > 14 else "delivered"

    def _at(self, moment: datetime) -> Callable[[], datetime]:
        return lambda: moment

    def _restock(self, variant: Variant, wanted: int, at: datetime) -> None:
        with tenant_context(self.company):
            sellable = inventory_selectors.channel_sellable(
                company=self.company,
                channel=sales_services.web_channel(self.company),
                variants=[variant],
            ).get(variant.pk, 0)
        if sellable < wanted:
            inventory_services.stock_receive(
                company=self.company,
                variant=variant,
                location=self.store,
                quantity=wanted - sellable + 12,
                unit_cost=variant.cost or variant.price / 2,
                source_type="demo",
                source_id="roaster delivery",
                actor=self.owner,
                clock=self._at(at - timedelta(hours=6)),
            )

    def _order(self, placed_at: datetime, outcome: str) -> None:
        pick = self.random
        email = pick.choice(self.emails)
        block, street, unit, postal = pick.choice(STREETS)
        chosen = pick.sample(self.variants, pick.choice((1, 1, 2, 2, 3)))
        lines = [(variant, pick.choice((1, 1, 1, 2))) for variant in chosen]
        for variant, quantity in lines:
            self._restock(variant, quantity, placed_at)
        cart = sales_services.cart_open(company=self.company)
        for variant, quantity in lines:
            sales_services.cart_add(
                company=self.company, cart=cart, variant_id=variant.public_id, quantity=quantity
            )
        delivery = self.deliveries[0] if pick.random() < 0.75 else self.deliveries[1]
        cart = sales_services.cart_set_details(
            company=self.company,
            cart=cart,
            data={
                "email": email,
                "name": self.names[email],
                "phone": f"+65 9{pick.randrange(1000000, 9999999)}",
                "delivery_method": str(delivery.public_id),
                "block": block,
                "street": street,
                "unit": unit,
                "postal_code": postal,
                "marketing_consent": pick.random() < 0.3,
            },
        )
        if pick.random() < 0.2:
            # Refused when nothing from the coffee shelf is in the cart.
            with contextlib.suppress(sales_services.CartError):
                sales_services.cart_apply_code(company=self.company, cart=cart, code="KOPI5")
        order = sales_services.order_place(
            company=self.company, cart=cart, clock=self._at(placed_at)
        )
        self._follow(order, placed_at, outcome)

    def _follow(self, order: Order, placed_at: datetime, outcome: str) -> None:
        """Take the order as far as `outcome`, through the services, at believable times."""
        if outcome == "waiting":
            return
        if outcome == "expired":
            self._expire(order, placed_at)
            return
        self._pay(order, placed_at + timedelta(minutes=self.random.randint(1, 12)))
        at = placed_at + timedelta(hours=self.random.randint(3, 20))
        actor = self.owner
        if outcome == "paid":
            return
        if outcome == "cancelled":
            sales_services.order_cancel(
                company=self.company,
                order=order,
                actor=actor,
                reason="Customer changed their mind",
                clock=self._at(at),
            )
            return
        if outcome == "processing":
            sales_services.order_start_processing(
                company=self.company, order=order, actor=actor, clock=self._at(at)
            )
            return
        tracked = order.delivery_kind == DeliveryKind.FLAT_RATE
        tracking = f"NVSG{self.random.randrange(10**9, 10**10)}" if tracked else ""
        for location in (self.store, self.pickup):
            with contextlib.suppress(DomainError):  # nothing of it held there
                sales_services.order_ship(
                    company=self.company,
                    order=order,
                    location=location,
                    quantities=None,
                    carrier="Ninja Van" if tracked else "",
                    tracking_number=tracking,
                    actor=actor,
                    clock=self._at(at),
                )
        if outcome == "shipped":
            return
        delivered = at + timedelta(days=self.random.randint(1, 3))
        sales_services.order_mark_delivered(
            company=self.company, order=order, actor=actor, clock=self._at(delivered)
        )
        if outcome == "returned":
            self._return_one(order, delivered + timedelta(days=2))
        elif outcome == "completed":
            sales_services.order_complete(
                company=self.company,
                order=order,
                actor=actor,
                clock=self._at(delivered + timedelta(days=7)),
            )

    def _expire(self, order: Order, placed_at: datetime) -> None:
        payment_services.payments_expire_overdue(clock=self._at(placed_at + timedelta(hours=1)))
        self._settled(order)

    def _pay(self, order: Order, paid_at: datetime) -> None:
        started = sales_services.order_payment_start(
            company=self.company,
            order=order,
            method="paynow",
            base_url=DEMO_BASE_URL,
            return_url=DEMO_BASE_URL,
            clock=self._at(paid_at),
        )
        payment_services.sandbox_charge_settle(
            company=self.company,
            provider_reference=started.attempt.provider_reference,
            outcome="paid",
            clock=self._at(paid_at),
            http={"sandbox": delivered_in_process(self.company, self._at(paid_at))},
        )
        self._settled(order)

    def _settled(self, order: Order) -> None:
        """Wait until the order has heard of its payment (a relay thread may hold the event)."""
        for _ in range(200):
            relay_pending(limit=100)
            with tenant_context(self.company):
                order.refresh_from_db()
            if order.status != OrderStatus.PENDING_PAYMENT:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{order.number} did not hear of its payment.")

    def _return_one(self, order: Order, at: datetime) -> None:
        with tenant_context(self.company):
            line = OrderLine.objects.filter(order=order).first()
        assert line is not None
        asked = sales_services.return_request(
            company=self.company,
            order=order,
            quantities={line.pk: 1},
            reason="Bag arrived torn",
            actor=self.owner,
            clock=self._at(at),
        )
        sales_services.return_approve(
            company=self.company,
            return_request=asked,
            location=self.store,
            actor=self.owner,
            clock=self._at(at),
        )
        sales_services.return_receive(
            company=self.company,
            return_request=asked,
            dispositions={},
            actor=self.owner,
            clock=self._at(at + timedelta(days=2)),
        )
        sales_services.return_refund(
            company=self.company,
            return_request=asked,
            actor=self.owner,
            clock=self._at(at + timedelta(days=2)),
        )
        relay_pending(limit=100)

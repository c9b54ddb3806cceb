"""`manage.py seed_demo`: the demo companies, their staff, locations, catalog, six weeks of
stock history and a week of payments. Safe to run again.

Two companies show the tenant walls: Kopi Kakis (every staff role has a login), a cafe and
lifestyle shop with some 60 products, and Lion Brew, a taproom with a handful. Every login's
password is "pasar-demo". Everything is added through the same services the pages use (stock
history with the services' clock set in the past); only the demo's weak shared password skips
the sign-up service's strength check, so the users are made with the model manager.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from stdnum.sg import uen as stdnum_uen

from pasar.backoffice.demo_books import seed_books
from pasar.backoffice.demo_payments import seed_payments
from pasar.backoffice.demo_sales import ORDERS, SHOPPER_PASSWORD, seed_sales
from pasar.catalog import services as catalog_services
from pasar.catalog.models import Category, ProductStatus, TaxCode, Variant
from pasar.catalog.selectors import barcode_with_check_digit
from pasar.core.money import parse_money
from pasar.core.tenant import tenant_context, user_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import (
    Channel,
    ChannelKind,
    Location,
    LocationKind,
    StockLevel,
    StockMovement,
)
from pasar.inventory.selectors import location_list
from pasar.inventory.services import InsufficientStock, ReserveLine
from pasar.tenancy import services as tenancy_services
from pasar.tenancy.models import Company, Membership, Role, User

DEMO_PASSWORD = "pasar-demo"  # noqa: S105 - published demo login, shown by `make demo`
PLATFORM_STAFF_EMAIL = "platform@pasar.example"
SILENT_MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}


def local_company_uen(year: int, serial: int) -> str:
    """An ACRA-style local company UEN (yyyynnnnnX) with a correct check letter."""
    body = f"{year}{serial:05d}"
    return body + stdnum_uen.calc_local_company_check_digit(body)


@dataclass(frozen=True)
class DemoLocation:
    name: str
    kind: str
    address_line1: str
    postal_code: str
    # The shop sells first (walk-in and web orders are packed there); the stock room refills it.
    allocation_priority: int = 100


# -- the demo catalog and its stock history -------------------------------------------------

GST_RATE = Decimal("0.09")
CENT = Decimal("0.01")
HISTORY_DAYS = 42


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    price: str  # S$, GST included
    opening: int  # units in the first delivery to the warehouse (0: made to order)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoProduct:
    name: str
    category: str  # a path such as "Coffee > Beans"
    supplier: str
    variants: list[DemoVariant]
    description: str = ""
    barcoded: bool = True  # drinks and pastries made at the counter carry no barcode
    tax_code: str = TaxCode.STANDARD_RATED
    cost_share: Decimal = Decimal("0.45")  # cost as a share of the price before GST

    @property
    def stocked(self) -> bool:
        return any(variant.opening for variant in self.variants)


BAG_SIZES = (
    ("250g", "250", Decimal(1), 48),
    ("500g", "500", Decimal("1.85"), 24),
    ("1kg", "1K", Decimal("3.4"), 12),
)


def _sized(prefix: str, price_250g: str) -> list[DemoVariant]:
    """A bean in the three bag sizes the cafe sells, larger bags a little cheaper per gram."""
    return [
        DemoVariant(
            f"{prefix}-{code}",
            str((parse_money(price_250g) * factor).quantize(Decimal("0.1"))),
            opening,
            {"size": size},
        )
        for size, code, factor, opening in BAG_SIZES
    ]


def _made(sku: str, price: str, **options: str) -> DemoVariant:
    return DemoVariant(sku, price, 0, options)


def _coloured(prefix: str, price: str, opening: int, colours: tuple[str, ...]) -> list[DemoVariant]:
    return [
        DemoVariant(f"{prefix}-{colour[:3].upper()}", price, opening, {"colour": colour})
        for colour in colours
    ]


ROASTER = "Bukit Timah Roasters Pte. Ltd."
BAKERY = "Joo Chiat Bakehouse"
HOMEWARE = "Jalan Besar Homeware Trading"
PACKAGING = "Kallang Packaging Supplies"

BEANS = [
    (
        "Sumatra Mandheling",
        "SUM",
        "19.90",
        "Earthy, cedar and dark chocolate; a full body for kopi.",
    ),
    ("Java Estate", "JAV", "18.50", "Smooth and spicy, low acidity."),
    ("Ethiopia Yirgacheffe", "YIR", "24.90", "Jasmine, lemon and bergamot; best as pour-over."),
    ("Colombia Huila", "HUI", "21.50", "Red apple, caramel and a clean finish."),
    ("Brazil Cerrado", "CER", "17.90", "Nutty and sweet: our everyday espresso base."),
    ("Kenya Nyeri", "NYE", "26.90", "Blackcurrant and grapefruit, bright and juicy."),
    ("Guatemala Antigua", "ANT", "22.90", "Cocoa, brown sugar and a hint of smoke."),
    ("Papua New Guinea Sigri", "PNG", "20.90", "Tropical fruit with a syrupy body."),
    ("Vietnam Robusta", "ROB", "14.90", "Strong and bold, for traditional phin and kopi."),
    ("Nanyang Kopi-O Blend", "NAN", "13.90", "Roasted with butter and sugar, the kopitiam way."),
    ("Kampong Blend", "KAM", "16.50", "Our house blend of Brazil and Sumatra."),
    (
        "Decaf Colombia",
        "DEC",
        "22.50",
        "Sugar-cane decaffeinated; all the taste, none of the buzz.",
    ),
]

DRINKS = [
    ("Kopi", "KOPI", "1.80"),
    ("Kopi-C", "KOPIC", "1.90"),
    ("Kopi-O", "KOPIO", "1.60"),
    ("Teh Tarik", "TEHT", "2.00"),
    ("Yuan Yang", "YUAN", "2.20"),
    ("Latte", "LAT", "5.50"),
    ("Cappuccino", "CAP", "5.50"),
    ("Flat White", "FLW", "5.80"),
    ("Mocha", "MOC", "6.20"),
    ("Cold Brew", "CLB", "6.50"),
    ("Matcha Latte", "MAT", "6.50"),
    ("Milo Dinosaur", "MILO", "4.50"),
    ("Iced Bandung", "BAND", "3.50"),
]

PASTRIES = [
    ("Kaya Butter Toast", "TOAST", "2.80"),
    ("Butter Croissant", "CROI", "3.80"),
    ("Pandan Chiffon Slice", "CHIF", "3.50"),
    ("Ondeh Ondeh Cake Slice", "ONDEH", "6.80"),
    ("Banana Walnut Muffin", "MUFF", "4.20"),
    ("Curry Puff", "PUFF", "2.20"),
    ("Gula Melaka Butter Cake", "GULA", "5.50"),
]


def kopi_kakis_catalog() -> list[DemoProduct]:
    products = [
        DemoProduct(
            f"{name} Coffee Beans",
            "Coffee > Beans",
            ROASTER,
            _sized(f"KK-BN-{code}", price),
            description=notes,
            cost_share=Decimal("0.40"),
        )
        for name, code, price, notes in BEANS
    ]
    products += [
        DemoProduct(
            f"{name} Drip Bags (box of 10)",
            "Coffee > Drip bags",
            ROASTER,
            [DemoVariant(f"KK-DRIP-{code}", price, 40)],
            description="Single-serve drip bags: tear, hang on a cup, pour.",
        )
        for name, code, price in (
            ("Kampong Blend", "KAM", "15.90"),
            ("Ethiopia Yirgacheffe", "YIR", "19.90"),
            ("Sumatra Mandheling", "SUM", "16.90"),
        )
    ]
    products += [
        DemoProduct(
            name,
            "Drinks",
            ROASTER,
            [
                _made(f"KK-DRK-{code}-H", price, serve="Hot"),
                _made(f"KK-DRK-{code}-I", str(parse_money(price) + Decimal("0.50")), serve="Iced"),
            ],
            barcoded=False,
            cost_share=Decimal("0.25"),
        )
        for name, code, price in DRINKS
    ]
    products += [
        DemoProduct(
            name,
            "Bakes",
            BAKERY,
            [_made(f"KK-BAKE-{code}", price)],
            barcoded=False,
            cost_share=Decimal("0.35"),
        )
        for name, code, price in PASTRIES
    ]
    products += [
        DemoProduct(
            "Kopi Tiam Teh Leaves 250g", "Tea", ROASTER, [DemoVariant("KK-TEA-TEH", "9.90", 30)]
        ),
        DemoProduct(
            "Earl Grey Loose Leaf 100g", "Tea", ROASTER, [DemoVariant("KK-TEA-EG", "14.50", 20)]
        ),
        DemoProduct(
            "Lemongrass Ginger Tea (20 bags)",
            "Tea",
            ROASTER,
            [DemoVariant("KK-TEA-LG", "11.90", 24)],
        ),
        DemoProduct(
            "Chrysanthemum Tea 50g", "Tea", ROASTER, [DemoVariant("KK-TEA-CHR", "8.50", 24)]
        ),
        DemoProduct(
            "Enamel Kopi Mug 350ml",
            "Merchandise > Mugs and tumblers",
            HOMEWARE,
            _coloured("KK-MUG-ENA", "16.90", 18, ("White", "Green", "Navy")),
        ),
        DemoProduct(
            "Kopitiam Cup and Saucer",
            "Merchandise > Mugs and tumblers",
            HOMEWARE,
            _coloured("KK-MUG-CUP", "12.90", 24, ("White", "Green")),
        ),
        DemoProduct(
            "Insulated Tumbler 500ml",
            "Merchandise > Mugs and tumblers",
            HOMEWARE,
            _coloured("KK-TUM-500", "34.90", 12, ("Black", "Sage", "Sand")),
        ),
        DemoProduct(
            "Glass Cold Brew Bottle 1L",
            "Merchandise > Mugs and tumblers",
            HOMEWARE,
            [DemoVariant("KK-BTL-CB1", "29.90", 10)],
        ),
        DemoProduct(
            "Canvas Tote Bag",
            "Merchandise > Bags",
            PACKAGING,
            _coloured("KK-TOTE", "19.90", 30, ("Natural", "Black")),
        ),
        DemoProduct(
            "Kopi Kakis Tote (shophouse print)",
            "Merchandise > Bags",
            PACKAGING,
            [DemoVariant("KK-TOTE-SHOP", "24.90", 20)],
        ),
        DemoProduct(
            "Coffee Bean Pouch",
            "Merchandise > Bags",
            PACKAGING,
            [DemoVariant("KK-POUCH", "9.90", 40)],
        ),
        DemoProduct(
            "Kopi Sock Filter", "Brewing", HOMEWARE, [DemoVariant("KK-GEAR-SOCK", "6.90", 30)]
        ),
        DemoProduct(
            "Ceramic Pour-over Dripper",
            "Brewing",
            HOMEWARE,
            _coloured("KK-GEAR-DRIP", "32.00", 8, ("White", "Black")),
        ),
        DemoProduct(
            "Hand Coffee Grinder", "Brewing", HOMEWARE, [DemoVariant("KK-GEAR-GRIND", "79.00", 6)]
        ),
        DemoProduct(
            "Gooseneck Kettle 600ml", "Brewing", HOMEWARE, [DemoVariant("KK-GEAR-KETL", "58.00", 6)]
        ),
        DemoProduct(
            "Paper Filters (pack of 100)",
            "Brewing",
            PACKAGING,
            [DemoVariant("KK-GEAR-FILT", "7.50", 40)],
        ),
        DemoProduct(
            "French Press",
            "Brewing",
            HOMEWARE,
            [
                DemoVariant("KK-GEAR-FP-350", "36.00", 8, {"size": "350ml"}),
                DemoVariant("KK-GEAR-FP-800", "48.00", 6, {"size": "800ml"}),
            ],
        ),
        DemoProduct(
            "Kaya Jar 250g",
            "Pantry",
            BAKERY,
            [
                DemoVariant("KK-KAYA-PAN", "8.90", 24, {"flavour": "Pandan"}),
                DemoVariant("KK-KAYA-GUL", "9.50", 24, {"flavour": "Gula Melaka"}),
            ],
        ),
        DemoProduct(
            "Gula Melaka Syrup 300ml", "Pantry", BAKERY, [DemoVariant("KK-SYR-GULA", "12.90", 18)]
        ),
        DemoProduct(
            "Pineapple Tarts (jar of 20)",
            "Pantry",
            BAKERY,
            [DemoVariant("KK-TART-PIN", "22.80", 15)],
        ),
        DemoProduct(
            "Kopi Lover Gift Set",
            "Gift sets",
            PACKAGING,
            [DemoVariant("KK-GIFT-LOVER", "68.00", 10)],
            description="Kampong Blend 250g, an enamel mug and a kopi sock.",
        ),
        DemoProduct(
            "Origins Trio Gift Box",
            "Gift sets",
            PACKAGING,
            [DemoVariant("KK-GIFT-TRIO", "62.00", 8)],
            description="Three 250g bags: Yirgacheffe, Huila and Mandheling.",
        ),
        DemoProduct(
            "Tumbler and Beans Set",
            "Gift sets",
            PACKAGING,
            [DemoVariant("KK-GIFT-TUMB", "49.00", 8)],
        ),
        DemoProduct(
            "Festive Hamper",
            "Gift sets",
            PACKAGING,
            [DemoVariant("KK-GIFT-HAMP", "128.00", 5)],
            description="Beans, drip bags, kaya and pineapple tarts in a rattan basket.",
        ),
        # Goods shipped to a customer abroad are an export: zero-rated.
        DemoProduct(
            "Overseas Gift Box (shipped abroad)",
            "Gift sets",
            PACKAGING,
            [DemoVariant("KK-GIFT-EXPORT", "75.00", 6)],
            tax_code=TaxCode.ZERO_RATED,
            description="Sent by post to an address outside Singapore.",
        ),
    ]
    return products


def lion_brew_catalog() -> list[DemoProduct]:
    brewery = "Lion Brew Brewing Co."
    return [
        DemoProduct(
            "Merlion Pale Ale 330ml",
            "Beer",
            brewery,
            [
                DemoVariant("LB-PALE-1", "8.00", 96, {"pack": "Single"}),
                DemoVariant("LB-PALE-4", "29.00", 24, {"pack": "4-pack"}),
            ],
        ),
        DemoProduct(
            "Tanjong Pagar Stout 330ml", "Beer", brewery, [DemoVariant("LB-STOUT", "9.00", 72)]
        ),
        DemoProduct("Kopi Porter 330ml", "Beer", brewery, [DemoVariant("LB-PORTER", "9.50", 48)]),
        DemoProduct(
            "Lion Brew Pint Glass", "Merchandise", HOMEWARE, [DemoVariant("LB-GLASS", "14.00", 24)]
        ),
        DemoProduct(
            "Lion Brew T-shirt",
            "Merchandise",
            PACKAGING,
            [
                DemoVariant(f"LB-TEE-{size}", "32.00", 10, {"size": size})
                for size in ("S", "M", "L", "XL")
            ],
        ),
    ]


def _ean13(body: str) -> str:
    return barcode_with_check_digit(body)


def _cost(product: DemoProduct, variant: DemoVariant) -> Decimal:
    before_gst = parse_money(variant.price) / (1 + GST_RATE)
    return (before_gst * product.cost_share).quantize(CENT)


@dataclass(frozen=True)
class DemoAdjustment:
    days_ago: int
    at_stockroom: bool
    sku: str
    quantity: int
    reason: str


KOPI_KAKIS_ADJUSTMENTS = [
    DemoAdjustment(33, True, "KK-MUG-ENA-WHI", -2, "Chipped in delivery; supplier notified"),
    DemoAdjustment(27, False, "KK-BN-YIR-250", -1, "Bag split open on the shelf"),
    DemoAdjustment(19, False, "KK-TART-PIN", -2, "Past best-before date"),
    DemoAdjustment(16, True, "KK-POUCH", 5, "Found an unopened carton in the stock room"),
    DemoAdjustment(9, False, "KK-DRIP-KAM", -3, "Used for a staff tasting session"),
    DemoAdjustment(4, False, "KK-TUM-500-SAG", -1, "Dented display unit, written off"),
]
LION_BREW_ADJUSTMENTS = [
    DemoAdjustment(10, False, "LB-GLASS", -3, "Broken behind the bar"),
    DemoAdjustment(5, False, "LB-PALE-1", -2, "Dented cans, poured away"),
]
# Levels shown as running low in the demo: their reorder point is at least what is left.
KOPI_KAKIS_RUNNING_LOW = ("KK-BN-NYE-1K", "KK-GIFT-HAMP", "KK-GEAR-GRIND", "KK-TUM-500-BLA")


class StockHistory:
    """Six weeks of a shop's stock, written day by day through the inventory services with
    their clock set in the past: goods received from suppliers, transfers from the stock room
    to the shop, counter and web sales (reserve, pay, hand over), adjustments with reasons, a
    stock count, a transfer still on the road, and reorder points, some of them reached."""

    def __init__(
        self,
        *,
        company: Company,
        actor: User,
        products: list[DemoProduct],
        variants: dict[str, Variant],
        adjustments: list[DemoAdjustment],
        running_low: tuple[str, ...] = (),
    ) -> None:
        self.company = company
        self.actor = actor
        self.products = products
        self.variants = variants
        self.adjustments = adjustments
        self.running_low = running_low
        locations = list(location_list(company=company))
        self.shop = next(loc for loc in locations if loc.kind == LocationKind.STORE)
        self.stockroom = next(
            (loc for loc in locations if loc.kind == LocationKind.WAREHOUSE), self.shop
        )
        self.random = random.Random(f"pasar-demo:{company.shop_slug}")  # noqa: S311 - demo data
        self.today = timezone.localtime()
        self.references = itertools.count(4101)
        stocked = [(p, v) for p in products for v in p.variants if v.opening]
        self.stocked = stocked
        # Small bags of beans and drip bags sell most, so they appear in the pool more often.
        self.best_sellers = [
            v.sku for p, v in stocked if v.sku.endswith("-250") or "DRIP" in v.sku
        ] * 4 + [v.sku for _, v in stocked]

    def at(self, days_ago: int, hour: int, minute: int = 0) -> Callable[[], datetime]:
        moment = (self.today - timedelta(days=days_ago)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
        return lambda: moment

    def write(self) -> None:
        self.channels = {
            kind: Channel.objects.filter(kind=kind).first()
            or inventory_services.channel_create(company=self.company, kind=kind)
            for kind in (ChannelKind.POS, ChannelKind.WEB)
        }
        self.receive(HISTORY_DAYS, [(p, v, v.opening, Decimal(1)) for p, v in self.stocked])
        two_sites = self.stockroom != self.shop
        for days_ago in range(HISTORY_DAYS - 1, 0, -1):
            if two_sites and days_ago == 40:
                self.transfer(days_ago, [(v.sku, v.opening // 2) for _, v in self.stocked])
            if days_ago == 21:
                # Beans again, and the roaster's prices went up a little.
                restock = [
                    (p, v, v.opening // 2, Decimal("1.04"))
                    for p, v in self.stocked
                    if p.category == "Coffee > Beans"
                ]
                if restock:
                    self.receive(days_ago, restock)
            if two_sites and days_ago == 14:
                self.transfer(days_ago, [(sku, 8) for sku in self.variants if sku.endswith("-250")])
            for adjustment in self.adjustments:
                if adjustment.days_ago == days_ago:
                    self.adjust(adjustment)
            if days_ago == 6:
                self.count(days_ago)
            if two_sites and days_ago == 1:
                self.transfer(
                    days_ago,
                    [("KK-GIFT-LOVER", 3), ("KK-TOTE-NAT", 6), ("KK-DRIP-YIR", 6)],
                    arrived=False,
                )
            if days_ago <= HISTORY_DAYS - 4:
                self.sell(days_ago)
        self.reorder_points()

    def receive(
        self, days_ago: int, lines: list[tuple[DemoProduct, DemoVariant, int, Decimal]]
    ) -> None:
        by_supplier: dict[str, list[tuple[str, int, Decimal]]] = {}
        for product, variant, quantity, cost_change in lines:
            if quantity:
                cost = (_cost(product, variant) * cost_change).quantize(CENT)
                by_supplier.setdefault(product.supplier, []).append((variant.sku, quantity, cost))
        for hour, (supplier, supplier_lines) in enumerate(sorted(by_supplier.items()), start=9):
            inventory_services.purchase_receipt_create(
                company=self.company,
                location=self.stockroom,
                supplier_name=supplier,
                reference=f"DO-{next(self.references)}",
                lines=supplier_lines,
                actor=self.actor,
                clock=self.at(days_ago, hour),
            )

    def _on_hand(self, sku: str, location: Location) -> int:
        level = StockLevel.objects.filter(variant=self.variants[sku], location=location).first()
        return 0 if level is None else level.on_hand - level.reserved

    def transfer(
        self, days_ago: int, lines: list[tuple[str, int]], *, arrived: bool = True
    ) -> None:
        lines = [(sku, min(qty, self._on_hand(sku, self.stockroom))) for sku, qty in lines]
        lines = [(sku, qty) for sku, qty in lines if qty > 0]
        if not lines:
            return
        transfer = inventory_services.transfer_create(
            company=self.company,
            source=self.stockroom,
            destination=self.shop,
            lines=lines,
            actor=self.actor,
            note="Weekly restock of the cafe shelves",
            clock=self.at(days_ago, 8),
        )
        inventory_services.transfer_dispatch(
            transfer=transfer, actor=self.actor, clock=self.at(days_ago, 9)
        )
        if arrived:
            inventory_services.transfer_receive(
                transfer=transfer,
                quantities=dict(lines),
                actor=self.actor,
                clock=self.at(days_ago, 13),
            )

    def sell(self, days_ago: int) -> None:
        for order in range(self.random.randint(2, 5)):
            skus = set(self.random.sample(self.best_sellers, self.random.choice((1, 1, 2))))
            kind = ChannelKind.POS if self.random.random() < 0.7 else ChannelKind.WEB
            hour, minute = 10 + order * 2, self.random.randrange(60)
            try:
                reservation = inventory_services.stock_reserve(
                    company=self.company,
                    channel=self.channels[kind],
                    lines=[
                        ReserveLine(sku=sku, quantity=self.random.choice((1, 1, 2)))
                        for sku in sorted(skus)
                    ],
                    ttl=timedelta(minutes=15),
                    clock=self.at(days_ago, hour, minute),
                )
            except InsufficientStock:
                continue  # sold out that day: the customer chose something else
            paid = self.at(days_ago, hour, minute + 1 if minute < 59 else minute)
            inventory_services.stock_commit(
                company=self.company, reservation=reservation, clock=paid
            )
            inventory_services.stock_fulfil(
                company=self.company, reservation=reservation, actor=self.actor, clock=paid
            )

    def adjust(self, adjustment: DemoAdjustment) -> None:
        location = self.stockroom if adjustment.at_stockroom else self.shop
        if (
            adjustment.quantity < 0
            and self._on_hand(adjustment.sku, location) < -adjustment.quantity
        ):
            return
        inventory_services.stock_adjust(
            company=self.company,
            variant=self.variants[adjustment.sku],
            location=location,
            quantity=adjustment.quantity,
            reason=adjustment.reason,
            actor=self.actor,
            clock=self.at(adjustment.days_ago, 17),
        )

    def count(self, days_ago: int) -> None:
        """A shelf count of the mugs at the shop, which finds one unit missing."""
        skus = [
            sku for sku in self.variants if sku.startswith("KK-MUG-") or sku.startswith("LB-TEE")
        ]
        skus = [
            sku
            for sku in skus
            if StockLevel.objects.filter(variant=self.variants[sku], location=self.shop).exists()
        ]
        if not skus:
            return
        count = inventory_services.count_start(
            company=self.company,
            location=self.shop,
            skus=skus,
            actor=self.actor,
            clock=self.at(days_ago, 18),
        )
        counted = {sku: self._on_hand(sku, self.shop) for sku in skus}
        counted[skus[0]] = max(0, counted[skus[0]] - 1)
        inventory_services.count_record(count=count, quantities=counted, actor=self.actor)
        inventory_services.count_post(count=count, actor=self.actor, clock=self.at(days_ago, 19))

    def reorder_points(self) -> None:
        levels = StockLevel.objects.select_related("variant", "location")
        opening = {v.sku: v.opening for _, v in self.stocked}
        for level in levels:
            units = opening.get(level.variant.sku, 0)
            if not units:
                continue
            at_shop = level.location == self.shop
            point = max(2, units // (6 if at_shop else 5))
            if at_shop and level.variant.sku in self.running_low:
                point = max(point, level.on_hand)
            inventory_services.stock_level_set_reorder(
                company=self.company,
                variant=level.variant,
                location=level.location,
                reorder_point=point,
                reorder_quantity=max(point, units // 2),
            )


@dataclass(frozen=True)
class DemoCompany:
    legal_name: str
    shop_slug: str
    uen: str
    gst_registered: bool
    address_line1: str
    address_line2: str
    postal_code: str
    # role -> (email, full name); the owner comes first and onboards the company.
    staff: dict[Role, tuple[str, str]]
    locations: list[DemoLocation] = field(default_factory=list)
    catalog: Callable[[], list[DemoProduct]] = list
    barcode_prefix: str = ""  # GS1 Singapore 888 and the company's number: 7 digits
    adjustments: list[DemoAdjustment] = field(default_factory=list)
    running_low: tuple[str, ...] = ()
    payments: bool = False  # the sandbox gateway and a week of payments


KOPI_KAKIS_UEN = local_company_uen(2018, 12345)
DEMO_COMPANIES = [
    DemoCompany(
        legal_name="Kopi Kakis Pte. Ltd.",
        shop_slug="kopi-kakis",
        uen=KOPI_KAKIS_UEN,
        gst_registered=True,
        address_line1="78 Yong Siak Street",
        address_line2="#01-12",
        postal_code="163078",
        staff={
            Role.OWNER: ("owner@kopikakis.example", "Tan Mei Ling"),
            Role.ADMIN: ("admin@kopikakis.example", "Arjun Nair"),
            Role.FINANCE: ("finance@kopikakis.example", "Siti Rahman"),
            Role.WAREHOUSE: ("warehouse@kopikakis.example", "Lim Wei Jie"),
            Role.SALES: ("sales@kopikakis.example", "Farah Yusof"),
        },
        locations=[
            DemoLocation(
                "Tiong Bahru Cafe", LocationKind.STORE, "78 Yong Siak Street", "163078", 10
            ),
            DemoLocation(
                "Jurong Warehouse", LocationKind.WAREHOUSE, "21 Jurong Port Road", "619113", 20
            ),
        ],
        catalog=kopi_kakis_catalog,
        barcode_prefix="8881234",
        adjustments=KOPI_KAKIS_ADJUSTMENTS,
        running_low=KOPI_KAKIS_RUNNING_LOW,
        payments=True,
    ),
    DemoCompany(
        legal_name="Lion Brew Pte. Ltd.",
        shop_slug="lion-brew",
        uen=local_company_uen(2020, 54321),
        gst_registered=False,
        address_line1="18 Boon Tat Street",
        address_line2="",
        postal_code="069620",
        staff={Role.OWNER: ("owner@lionbrew.example", "Daniel Koh")},
        locations=[
            DemoLocation("Lion Brew Taproom", LocationKind.STORE, "18 Boon Tat Street", "069620")
        ],
        catalog=lion_brew_catalog,
        barcode_prefix="8885432",
        adjustments=LION_BREW_ADJUSTMENTS,
    ),
]


class Command(BaseCommand):
    help = (
        "Adds the demo companies (Kopi Kakis, Lion Brew), staff logins and a platform "
        f'superuser (platform@pasar.example), all with the published password "{DEMO_PASSWORD}", '
        "and their locations, catalog, stock and payments (idempotent). Refuses to run in "
        "production."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--orders",
            type=int,
            default=ORDERS,
            help=f"web orders spread over the year (default {ORDERS}), besides the few that "
            "show every state",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PASAR_ENV == "production":
            # Its logins, the platform superuser among them, share a password printed in the
            # README: they must never exist where real companies work.
            raise CommandError(
                "seed_demo adds logins with a published password, including a platform "
                "superuser; it does not run with PASAR_ENV=production."
            )
        self.created: list[str] = []
        # The invitations that bring staff in would email each demo address; drop those
        # emails rather than print them over the demo's start-up output.
        self.payments_due: list[tuple[Company, User]] = []
        with override_settings(MAILERS=SILENT_MAILERS), transaction.atomic():
            for demo in DEMO_COMPANIES:
                self._seed_company(demo)
            self._platform_staff()
        # Payments go through the sandbox gateway, which is never called inside an open
        # transaction: each payment commits on its own once the companies are in place.
        for company, owner in self.payments_due:
            if added := seed_payments(company, owner):
                self.created.append(added)
            with override_settings(MAILERS=SILENT_MAILERS):
                if added := seed_sales(company, owner, orders=options["orders"]):
                    self.created.append(added)
                if added := seed_books(company, owner):
                    self.created.append(added)

        if not self.created:
            self.stdout.write("Demo data is already in place; nothing was added.")
            return
        self.stdout.write("Demo data added:")
        for line in self.created:
            self.stdout.write(f"  {line}")
        self.stdout.write(f'Every demo login uses the password "{DEMO_PASSWORD}".')
        self.stdout.write(
            f'Demo shop accounts (aisyah@shopper.example...) use "{SHOPPER_PASSWORD}".'
        )

    def _user(self, email: str, full_name: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            # Demo staff have confirmed their emails, so live gateways could be switched on.
            user = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                full_name=full_name,
                email_verified_at=timezone.now(),
                **extra,
            )
        return user

    def _seed_company(self, demo: DemoCompany) -> None:
        owner_email, owner_name = demo.staff[Role.OWNER]
        owner = self._user(owner_email, owner_name)
        company = self._company(demo, owner)
        for role, (email, full_name) in demo.staff.items():
            if role != Role.OWNER:
                self._member(company, owner, self._user(email, full_name), role)
        with tenant_context(company, user=owner):
            for location in demo.locations:
                if not Location.objects.filter(name=location.name).exists():
                    inventory_services.location_create(
                        company=company,
                        name=location.name,
                        kind=location.kind,
                        address_line1=location.address_line1,
                        postal_code=location.postal_code,
                        allocation_priority=location.allocation_priority,
                    )
                    self.created.append(f"{location.name} ({location.kind}) of {demo.legal_name}")
            self._catalog(demo, company)
        if demo.payments:
            self.payments_due.append((company, owner))

    def _catalog(self, demo: DemoCompany, company: Company) -> None:
        """The products, then their stock history; skipped once the first SKU exists."""
        products = demo.catalog()
        if not products or Variant.objects.filter(sku=products[0].variants[0].sku).exists():
            return
        categories: dict[str, Category] = {}
        serials = itertools.count(1)
        for product in products:
            if product.category not in categories:
                categories[product.category] = catalog_services.category_path_ensure(
                    company=company, path=[name.strip() for name in product.category.split(">")]
                )
            catalog_services.product_create(
                company=company,
                name=product.name,
                description=product.description,
                category=categories[product.category],
                status=ProductStatus.ACTIVE,
                tax_code=product.tax_code,
                variants=[
                    {
                        "sku": variant.sku,
                        "price": variant.price,
                        "cost": _cost(product, variant),
                        "options": variant.options,
                        "barcode": _ean13(f"{demo.barcode_prefix}{next(serials):05d}")
                        if product.barcoded
                        else "",
                    }
                    for variant in product.variants
                ],
            )
        variants = {variant.sku: variant for variant in Variant.objects.all()}
        keeper_email = demo.staff.get(Role.WAREHOUSE, demo.staff[Role.OWNER])[0]
        StockHistory(
            company=company,
            actor=User.objects.get(email=keeper_email),
            products=products,
            variants=variants,
            adjustments=demo.adjustments,
            running_low=demo.running_low,
        ).write()
        self.created.append(
            f"{len(products)} products ({len(variants)} variants) and "
            f"{StockMovement.objects.count()} stock movements of {demo.legal_name}"
        )

    def _company(self, demo: DemoCompany, owner: User) -> Company:
        company = Company.objects.filter(shop_slug=demo.shop_slug).first()
        if company is not None:
            if company.uen != demo.uen:
                raise CommandError(
                    f"The shop address {demo.shop_slug} belongs to UEN {company.uen}, not the "
                    f"demo's {demo.uen}. Use a fresh database for the demo."
                )
            return company
        company = tenancy_services.company_onboard(
            owner=owner,
            legal_name=demo.legal_name,
            uen=demo.uen,
            gst_registered=demo.gst_registered,
            # Many Singapore companies' GST registration number is their UEN.
            gst_number=demo.uen if demo.gst_registered else "",
            address_line1=demo.address_line1,
            address_line2=demo.address_line2,
            postal_code=demo.postal_code,
            shop_slug=demo.shop_slug,
        )
        self.created.append(
            f"{company.legal_name}: UEN {company.uen}, shop {company.shop_slug}, "
            f"owner {owner.email}"
        )
        return company

    def _member(self, company: Company, owner: User, user: User, role: Role) -> None:
        with user_context(user):
            if Membership.objects.of_user(user).filter(company=company).exists():
                return
        # Staff join as real staff do: the owner invites, the person accepts.
        _invitation, token = tenancy_services.invitation_create(
            company=company, invited_by=owner, email=user.email, role=role
        )
        tenancy_services.invitation_accept(
            company_public_id=str(company.public_id), token=token, user=user
        )
        self.created.append(f"{user.email} joins {company.legal_name} as {role.label.lower()}")

    def _platform_staff(self) -> None:
        """Platform staff: uses /admin/ across companies through the audited bypass."""
        if not User.objects.filter(email=PLATFORM_STAFF_EMAIL).exists():
            self._user(
                PLATFORM_STAFF_EMAIL, "Pasar Platform Support", is_staff=True, is_superuser=True
            )
            self.created.append(f"{PLATFORM_STAFF_EMAIL}: platform staff, signs in at /admin/")

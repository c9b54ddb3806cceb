"""The shop's customers, carts, promotions, orders, shipments and returns.

An order stores every figure the pricing service gave it (docs/sales.md): nothing about an
order's money is recomputed once it is placed. Its status moves only through
`Order.move_to`, whose table of transitions is the order's state machine.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from pasar.core import numbering
from pasar.core.money import money_field
from pasar.core.singapore import POSTAL_CODE_PATTERN
from pasar.core.tenant import PublicIdMixin, TenantModel

if TYPE_CHECKING:
    from pasar.payments.models import Payment

ORDER_PREFIX = numbering.register("SO", "sales order")
SHIPMENT_PREFIX = numbering.register("SHP", "shipment")
RETURN_PREFIX = numbering.register("RMA", "return")


def _in(field: str, choices: type[models.TextChoices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


# -- customers ----------------------------------------------------------------------------------


class Customer(PublicIdMixin, TenantModel):
    """Someone who bought or signed up: a guest by email, or the holder of a shop account.

    Marketing consent is its own choice, never implied by buying, recorded with the privacy
    notice's version and the time it was given or withdrawn (PDPA).
    """

    shopper = models.OneToOneField(
        "tenancy.Shopper", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField()
    full_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    marketing_consent = models.BooleanField(default=False)
    consent_notice_version = models.CharField(max_length=20, blank=True)
    consent_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "email"], name="customer_email_per_shop"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email


class Address(PublicIdMixin, TenantModel):
    """A Singapore delivery address a customer saved (core.singapore.clean_address)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    recipient = models.CharField(max_length=150)
    phone = models.CharField(max_length=20)
    block = models.CharField(max_length=10)
    street = models.CharField(max_length=100)
    unit = models.CharField(max_length=12, blank=True)
    building = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=6)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-is_default", "-created_at"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(postal_code__regex=POSTAL_CODE_PATTERN), name="address_postal_code"
            ),
            models.UniqueConstraint(
                fields=["company", "customer"],
                condition=Q(is_default=True),
                name="one_default_address_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.block} {self.street} {self.unit} S{self.postal_code}".replace("  ", " ")


# -- delivery -----------------------------------------------------------------------------------


class DeliveryKind(models.TextChoices):
    FLAT_RATE = "flat_rate", "Delivery"
    PICKUP = "pickup", "Self-pickup"


class DeliveryMethod(PublicIdMixin, TenantModel):
    """A way an order reaches the shopper: a flat rate (free above a threshold) or pickup."""

    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    price = money_field(default=0)
    free_above = money_field(null=True, blank=True, help_text="Free when the goods reach this.")
    pickup_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "name"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=_in("kind", DeliveryKind), name="delivery_kind"),
            models.CheckConstraint(condition=Q(price__gte=0), name="delivery_price_not_negative"),
            models.CheckConstraint(
                condition=Q(kind=DeliveryKind.PICKUP, pickup_location__isnull=False)
                | Q(~Q(kind=DeliveryKind.PICKUP), pickup_location__isnull=True),
                name="pickup_has_a_location",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# -- promotions ---------------------------------------------------------------------------------


class PromotionKind(models.TextChoices):
    PERCENTAGE = "percentage", "Percentage off"
    FIXED = "fixed", "Amount off"
    FREE_SHIPPING = "free_shipping", "Free delivery"


class PromotionScope(models.TextChoices):
    ORDER = "order", "The whole order"
    PRODUCTS = "products", "Chosen products"
    CATEGORIES = "categories", "Chosen categories"


class Promotion(PublicIdMixin, TenantModel):
    """A discount: entered as a code, or applied by itself when its conditions hold.

    Stacking: a promotion that does not stack applies alone; the shopper gets whichever is
    larger, it or every stacking promotion together (docs/sales.md). Free delivery combines
    with any discount.
    """

    name = models.CharField(max_length=120)
    code = models.CharField(max_length=40, blank=True, help_text="Blank: applies automatically.")
    kind = models.CharField(max_length=15, choices=PromotionKind.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    scope = models.CharField(max_length=12, choices=PromotionScope.choices, default="order")
    products = models.ManyToManyField(
        "catalog.Product", blank=True, related_name="+", through="PromotionProduct"
    )
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", through="PromotionCategory"
    )
    min_spend = money_field(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0)
    stackable = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                "company",
                Upper("code"),
                condition=~Q(code=""),
                name="promotion_code_per_shop",
            ),
            models.CheckConstraint(condition=_in("kind", PromotionKind), name="promotion_kind"),
            models.CheckConstraint(condition=_in("scope", PromotionScope), name="promotion_scope"),
            models.CheckConstraint(
                condition=Q(value__gte=0) & (~Q(kind=PromotionKind.PERCENTAGE) | Q(value__lte=100)),
                name="promotion_value_in_range",
            ),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="promotion_used_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="promotion_window_forward",
            ),
        ]

    def __str__(self) -> str:
        return self.code or self.name

    def is_live(self, now: datetime) -> bool:
        return (
            self.is_active
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or now < self.ends_at)
        )


class PromotionProduct(TenantModel):
    """A product a promotion covers (a company's row, walled like the promotion)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE)
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "promotion", "product"], name="promotion_product_once"
            ),
        ]


class PromotionCategory(TenantModel):
    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE)
    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "promotion", "category"], name="promotion_category_once"
            ),
        ]


class PromotionRedemption(TenantModel):
    """One use of a promotion by one order: counted against the per-customer limit."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey("Order", on_delete=models.CASCADE, related_name="redemptions")
    email = models.EmailField()
    amount = money_field()
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "promotion", "order"], name="one_redemption_per_order"
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "promotion", "email"], name="redemption_by_email"),
        ]


# -- carts --------------------------------------------------------------------------------------


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    ORDERED = "ordered", "Ordered"
    MERGED = "merged", "Merged into another"


class Cart(PublicIdMixin, TenantModel):
    """A shopper's basket. A guest's is found by its public id in the session; at login it is
    merged into the account's. What checkout collects (email, address, delivery, codes) is
    kept here until the order is placed."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )
    status = models.CharField(max_length=10, choices=CartStatus.choices, default="open")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    delivery_method = models.ForeignKey(
        DeliveryMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    codes = models.JSONField(default=list, blank=True)
    marketing_consent = models.BooleanField(default=False)
    order = models.OneToOneField(
        "Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="cart"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=_in("status", CartStatus), name="cart_status"),
            models.UniqueConstraint(
                fields=["company", "customer"],
                condition=Q(status="open"),
                name="one_open_cart_per_customer",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "status", "updated_at"], name="cart_by_activity"),
        ]


class CartLine(TenantModel):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    # The price the shopper saw when adding: checkout tells them if it has changed since.
    unit_price_seen = money_field()
    added_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["added_at", "pk"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "cart", "variant"], name="cart_line_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity"),
        ]


# -- orders -------------------------------------------------------------------------------------


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Awaiting payment"
    PAID = "paid", "Paid"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
    REFUNDED = "refunded", "Refunded"


S = OrderStatus
# The order's state machine: every status an order may move to from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.PROCESSING, S.SHIPPED, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PROCESSING: frozenset({S.SHIPPED, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.COMPLETED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.CANCELLED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.SHIPPED, S.DELIVERED, S.COMPLETED}),
    S.REFUNDED: frozenset(),
}
PAID_STATUSES = frozenset(TRANSITIONS) - {S.PENDING_PAYMENT}
# The step staff take next on an order in each status, where there is one plain step forward:
# the office's action (pasar.sales.views.ACTIONS) and its button.
NEXT_STEPS: dict[str, tuple[str, str]] = {
    S.PAID: ("processing", "Start packing"),
    S.SHIPPED: ("delivered", "Mark delivered"),
    S.DELIVERED: ("complete", "Complete"),
}
SHIPPABLE_STATUSES = frozenset({S.PAID, S.PROCESSING})
RETURNABLE_STATUSES = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED, S.PARTIALLY_REFUNDED})


class IllegalTransition(Exception):
    pass


class Order(PublicIdMixin, TenantModel):
    """A placed order and every figure of its price, as the pricing service gave them."""

    # Not stored: the payment that placing this instance opened, so that starting it at a
    # gateway right after needs no second read (payments keep their own tables).
    opened_payment: Payment | None = None

    number = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default="pending_payment")
    channel = models.CharField(max_length=10, default="web")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    delivery_name = models.CharField(max_length=80)
    delivery_kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    pickup_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prices_include_gst = models.BooleanField(default=True)
    gst_rate = models.DecimalField(max_digits=5, decimal_places=4)
    subtotal = money_field()
    discount = money_field()
    shipping = money_field()
    shipping_gst = money_field()
    gst = money_field()
    total = money_field()
    refunded = money_field(default=0)
    currency = models.CharField(max_length=3, default="SGD")
    codes = models.JSONField(default=list, blank=True)
    # The payment's public id (payments context); none for an order that cost nothing.
    payment_id = models.UUIDField(null=True, blank=True)
    reservation = models.ForeignKey(
        "inventory.Reservation", on_delete=models.PROTECT, related_name="+"
    )
    # Set when a payment arrived after the stock hold was lost: staff must reserve again or
    # refund. The order is paid; it is never shipped from stock it does not hold.
    stock_problem = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=100)
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-placed_at", "-pk"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "number"], name="order_number_per_shop"),
            models.UniqueConstraint(
                fields=["company", "idempotency_key"], name="order_idempotency_key_per_shop"
            ),
            models.CheckConstraint(condition=_in("status", OrderStatus), name="order_status"),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(discount__gte=0)
                & Q(shipping__gte=0)
                & Q(gst__gte=0)
                & Q(total__gte=0)
                & Q(refunded__gte=0)
                & Q(refunded__lte=F("total")),
                name="order_amounts_in_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    prices_include_gst=True, total=F("subtotal") - F("discount") + F("shipping")
                )
                | Q(
                    prices_include_gst=False,
                    total=F("subtotal") - F("discount") + F("shipping") + F("gst"),
                ),
                name="order_total_adds_up",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "status", "placed_at"], name="order_by_status"),
            models.Index(fields=["company", "customer", "placed_at"], name="order_by_customer"),
            models.Index(fields=["company", "placed_at"], name="order_by_time"),
        ]

    def __str__(self) -> str:
        return self.number

    def can_move_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]

    def move_to(self, status: str) -> str:
        """Change status along the state machine; returns the status it left."""
        if not self.can_move_to(status):
            raise IllegalTransition(
                f"An order {self.get_status_display().lower()} cannot become {status}."
            )
        before = self.status
        self.status = status
        return before

    @property
    def next_step(self) -> tuple[str, str] | None:
        """The office action that moves it one plain step forward, and its label."""
        return NEXT_STEPS.get(self.status)

    @property
    def cancel_action(self) -> str:
        """The permission cancelling it needs: cancelling a paid order refunds it."""
        return "payment.refund" if self.paid_at is not None else "order.manage"


class OrderLine(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=260)
    tax_code = models.CharField(max_length=6)
    unit_price = money_field()
    quantity = models.PositiveIntegerField()
    gross = money_field()
    line_discount = money_field()
    order_discount = money_field()
    net = money_field()
    gst = money_field()
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["pk"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1)
                & Q(quantity_shipped__lte=F("quantity"))
                & Q(quantity_returned__lte=F("quantity_shipped")),
                name="order_line_quantities",
            ),
            models.CheckConstraint(
                condition=Q(net=F("gross") - F("line_discount") - F("order_discount"))
                & Q(net__gte=0)
                & Q(gst__gte=0),
                name="order_line_adds_up",
            ),
        ]


class OrderHistory(TenantModel):
    """The order's timeline: every change of status and every action, by whom."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(max_length=40)
    status_from = models.CharField(max_length=20, blank=True)
    status_to = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The event that caused it (payment.captured...): a redelivered event adds nothing.
    event_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "pk"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "order", "event_id", "action"],
                name="order_history_once_per_event",
            ),
        ]


# -- fulfilment ---------------------------------------------------------------------------------


class Shipment(PublicIdMixin, TenantModel):
    """Units of an order that left one location together, with the courier's tracking number."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    number = models.CharField(max_length=20)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["shipped_at", "pk"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "number"], name="shipment_number_per_shop"),
        ]


class ShipmentLine(TenantModel):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="shipment_line_quantity"),
        ]


# -- returns ------------------------------------------------------------------------------------


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RECEIVED = "received", "Received"
    REFUNDED = "refunded", "Refunded"


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Back to stock"
    WRITE_OFF = "write_off", "Written off"


class ReturnRequest(PublicIdMixin, TenantModel):
    """Request -> approve (or reject) -> receive (restock or write off) -> refund."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    number = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=ReturnStatus.choices, default="requested")
    reason = models.CharField(max_length=300)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_amount = money_field(default=0)
    refund_id = models.UUIDField(null=True, blank=True)
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-requested_at", "-pk"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "number"], name="return_number_per_shop"),
            models.CheckConstraint(condition=_in("status", ReturnStatus), name="return_status"),
            models.CheckConstraint(condition=Q(refund_amount__gte=0), name="return_refund_amount"),
        ]


class ReturnLine(TenantModel):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity"),
        ]

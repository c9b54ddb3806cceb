"""Where stock lives and how much of it: locations, channels, levels, movements, reservations.

The rules these models keep are described in docs/inventory.md.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from pasar.core import numbering
from pasar.core.money import cost_field
from pasar.core.tenant import PublicIdMixin, TenantModel


class LocationKind(models.TextChoices):
    STORE = "store", "Store"
    WAREHOUSE = "warehouse", "Warehouse"


class Location(PublicIdMixin, TenantModel):
    """A shop or warehouse. Lower allocation priority is drawn from first."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LocationKind.choices, default=LocationKind.STORE)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=6, blank=True)
    allocation_priority = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["allocation_priority", "name"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "name"], name="location_name_per_company"),
        ]

    def __str__(self) -> str:
        return self.name


class ChannelKind(models.TextChoices):
    WEB = "web", "Web shop"
    POS = "pos", "Point of sale"
    SHOPEE = "shopee", "Shopee"
    LAZADA = "lazada", "Lazada"
    QOO10 = "qoo10", "Qoo10"
    B2B = "b2b", "B2B"


class Channel(PublicIdMixin, TenantModel):
    """Where a company sells. Its buffer holds units back, so the channel sees fewer than exist.

    `buffer_units` is held back from every variant; a ChannelBuffer row overrides it for one.
    """

    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    buffer_units = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["kind"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "kind"], name="channel_kind_per_company"),
            models.CheckConstraint(
                condition=models.Q(kind__in=ChannelKind.values), name="channel_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class ChannelBuffer(TenantModel):
    """Units of one variant held back from one channel, instead of the channel's default."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="buffers")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    units = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "channel", "variant"], name="channel_buffer_per_variant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.variant_id}: {self.units}"


# The most units one location holds of one variant, and the most one line moves: far above any
# shop's stock, and well inside the 32-bit columns, so an overflow is a clear refusal.
MAX_UNITS = 1_000_000_000


class StockLevel(TenantModel):
    """How many units of a variant one location holds, and how many of them are promised.

    `on_hand` always equals the sum of the level's movements; `reserved` the sum of its open
    reservation allocations (some of which may have expired and not yet been reclaimed: see
    docs/inventory.md). The database refuses on_hand < 0 and reserved outside 0..on_hand.
    """

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    reorder_point = models.PositiveIntegerField(default=0)
    reorder_quantity = models.PositiveIntegerField(default=0)
    # When the first of its open holds may expire: never later than the earliest `holds_until`
    # of its open allocations (it may be earlier, after a hold was paid or released), NULL when
    # none can expire. While it lies ahead, a step that takes units reclaims nothing and asks
    # the database nothing about expired holds.
    next_expiry = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "variant", "location"], name="stock_level_per_location"
            ),
            models.CheckConstraint(
                condition=models.Q(on_hand__gte=0), name="stock_level_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(on_hand__lte=MAX_UNITS), name="stock_level_on_hand_within_limit"
            ),
            models.CheckConstraint(
                condition=models.Q(reserved__gte=0) & models.Q(reserved__lte=models.F("on_hand")),
                name="stock_level_reserved_within_on_hand",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "location"], name="stock_level_company_location"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand} ({self.reserved} reserved)"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def is_low(self) -> bool:
        """At or below its reorder point (0: none set); the same rule as LOW_STOCK."""
        return self.reorder_point > 0 and self.on_hand <= self.reorder_point


# The low-stock rule as a filter on levels; StockLevel.is_low is the same for one level.
LOW_STOCK = models.Q(reorder_point__gt=0) & models.Q(on_hand__lte=models.F("reorder_point"))


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SALE = "sale", "Sale"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Adjustment"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    COUNT_CORRECTION = "count_correction", "Count correction"
    RECEIPT_VOID = "receipt_void", "Receipt voided"


# Kinds whose quantity has a fixed sign; adjustments and count corrections go either way.
INBOUND_KINDS = (MovementKind.RECEIPT, MovementKind.RETURN, MovementKind.TRANSFER_IN)
OUTBOUND_KINDS = (MovementKind.SALE, MovementKind.TRANSFER_OUT, MovementKind.RECEIPT_VOID)


class StockMovement(PublicIdMixin, TenantModel):
    """One change of on-hand stock at one location. Append-only: the app may not edit or delete.

    `quantity` is signed (+ in, - out); `unit_cost` is the cost the units moved at (the purchase
    cost for receipts, the moving average otherwise); `source_type`/`source_id` name the
    document that caused it.
    """

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField()
    unit_cost = cost_field()
    reason = models.CharField(max_length=200, blank=True)
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    # The movement history is the stock's audit trail: the app role may only append to it.
    rls_revoked_privileges = ("UPDATE", "DELETE")

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=models.Q(kind__in=MovementKind.values), name="stock_movement_kind_known"
            ),
            models.CheckConstraint(
                condition=~models.Q(quantity=0), name="stock_movement_quantity_not_zero"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=INBOUND_KINDS) | models.Q(quantity__gt=0),
                name="stock_movement_inbound_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=OUTBOUND_KINDS) | models.Q(quantity__lt=0),
                name="stock_movement_outbound_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=MovementKind.ADJUSTMENT) | ~models.Q(reason=""),
                name="stock_movement_adjustment_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_cost__gte=0), name="stock_movement_cost_not_negative"
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "variant", "location"], name="stock_movement_level"),
            models.Index(
                fields=["company", "variant", "-created_at"], name="stock_movement_history"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d} of {self.variant_id}@{self.location_id}"


class VariantCost(TenantModel):
    """The moving weighted average unit cost of a variant across all locations.

    Changed only by receipts (see `pasar.inventory.services.weighted_average_cost`); every
    other movement carries this cost, and later the cost of goods sold is posted from it.
    """

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    average_cost = cost_field(default=Decimal(0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "variant"], name="variant_cost_per_company"),
            models.CheckConstraint(
                condition=models.Q(average_cost__gte=0), name="variant_cost_average_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.average_cost}"


class ReservationStatus(models.TextChoices):
    PENDING = "pending", "Held until it expires"
    COMMITTED = "committed", "Paid, waiting to ship"
    FULFILLED = "fulfilled", "Shipped"
    RELEASED = "released", "Cancelled"
    EXPIRED = "expired", "Expired"


class Reservation(PublicIdMixin, TenantModel):
    """Units promised to one channel's order, all-or-nothing, until `expires_at` or commit.

    A pending reservation past `expires_at` no longer holds its units (see docs/inventory.md),
    even while its status still reads pending because no sweep has run yet.
    """

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="reservations")
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.PENDING
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    committed_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="reservation_idempotency_key_per_company",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ReservationStatus.values),
                name="reservation_status_known",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            # The sweep looks for pending reservations past their expiry.
            models.Index(
                fields=["company", "expires_at"],
                condition=models.Q(status=ReservationStatus.PENDING),
                name="reservation_pending_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    def is_expired(self, at: datetime) -> bool:
        """Past its expiry without having been committed: its units are free for others."""
        return self.status == ReservationStatus.EXPIRED or (
            self.status == ReservationStatus.PENDING and self.expires_at <= at
        )


class AllocationState(models.TextChoices):
    OPEN = "open", "Holding units"
    FULFILLED = "fulfilled", "Shipped"
    RELEASED = "released", "Released"


class ReservationAllocation(TenantModel):
    """The part of a reservation drawn from one stock level.

    The level's `reserved` is always the sum of its open allocations.
    """

    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, related_name="allocations"
    )
    # Indexed by reservation_allocation_expiry, which leads with the level.
    level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    quantity = models.PositiveIntegerField()
    state = models.CharField(
        max_length=10, choices=AllocationState.choices, default=AllocationState.OPEN
    )
    # Until when an open hold keeps its units: its reservation's expiry while pending, NULL
    # once paid (committed), when nothing reclaims it.
    holds_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="reservation_allocation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=AllocationState.values),
                name="reservation_allocation_state_known",
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            # Reclaiming reads only the expired open holds of a level, in expiry order, and the
            # level's next expiry is the first entry after now: both cost the same however
            # many holds are open. The only index leading with the level, so that statistics
            # taken on a small table cannot steer the planner to one that reads every hold.
            models.Index(
                fields=["level", "state", "holds_until"], name="reservation_allocation_expiry"
            ),
            models.Index(fields=["company", "reservation"], name="reservation_allocation_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of level {self.level_id} ({self.state})"


# --- Operations: transfers, stock counts, purchase receipts, low-stock notices ---


# Loaded with the models, so every prefix is claimed at start-up, before any is used.
RECEIPT_PREFIX = numbering.register("GRN", "goods receipt")
TRANSFER_PREFIX = numbering.register("TRF", "stock transfer")
COUNT_PREFIX = numbering.register("CNT", "stock count")


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_TRANSIT = "in_transit", "In transit"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class Transfer(PublicIdMixin, TenantModel):
    """Stock sent from one location to another: draft, then in transit, then received.

    Dispatch takes the units off the source (transfer out movements); receipts put them on the
    destination (transfer in movements), possibly over several deliveries. Units in between
    are on no location's shelf and available nowhere.
    """

    number = models.CharField(max_length=20)
    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.DRAFT
    )
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "number"], name="transfer_number_per_company"
            ),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("destination")),
                name="transfer_between_two_locations",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TransferStatus.values), name="transfer_status_known"
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "status"], name="transfer_company_status"),
        ]

    def __str__(self) -> str:
        return self.number


class TransferLine(TenantModel):
    """One variant on a transfer: how many were sent and how many have arrived so far."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    # The average cost the units left at; they arrive at the same cost.
    unit_cost = cost_field(default=Decimal(0))

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "transfer", "variant"], name="transfer_line_per_variant"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="transfer_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(received__lte=models.F("quantity")),
                name="transfer_line_never_receives_more_than_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.received}/{self.quantity} of {self.variant_id}"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received


class StockCountStatus(models.TextChoices):
    OPEN = "open", "Counting"
    POSTED = "posted", "Posted"
    CANCELLED = "cancelled", "Cancelled"


class StockCount(PublicIdMixin, TenantModel):
    """A count sheet for one location: what the records expected, what was counted, and the
    count corrections posted for the differences."""

    number = models.CharField(max_length=20)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=StockCountStatus.choices, default=StockCountStatus.OPEN
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "number"], name="stock_count_number_per_company"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=StockCountStatus.values),
                name="stock_count_status_known",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class StockCountLine(TenantModel):
    """One variant on a count sheet.

    `expected` is the on hand when the sheet was made; `counted` what the counter found (None
    until recorded); `on_hand_at_post` and `variance` are filled in when the count is posted,
    against the on hand at that moment.
    """

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField()
    counted = models.PositiveIntegerField(null=True, blank=True)
    on_hand_at_post = models.IntegerField(null=True, blank=True)
    variance = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "count", "variant"], name="stock_count_line_per_variant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: expected {self.expected}, counted {self.counted}"


class PurchaseReceipt(PublicIdMixin, TenantModel):
    """Goods received from a supplier at one location (a goods received note, GRN-000001)."""

    number = models.CharField(max_length=20)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    supplier_name = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, blank=True, help_text="The supplier's DO number.")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    # A receipt entered by mistake is voided, never deleted: its movements are reversed.
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-received_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "number"], name="purchase_receipt_number_per_company"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class PurchaseReceiptLine(TenantModel):
    receipt = models.ForeignKey(PurchaseReceipt, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_cost = cost_field()

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="purchase_receipt_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_cost__gte=0),
                name="purchase_receipt_line_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.variant_id} at {self.unit_cost}"


class LowStockNotice(TenantModel):
    """One email to one warehouse member about one `stock.ran_low` event.

    Unique per event and recipient, so a redelivered event notifies nobody twice; `sent_at`
    is set when the email has gone, so a retried send does not repeat it either.
    """

    event_id = models.UUIDField(help_text="The public id of the stock.ran_low outbox event.")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "event_id", "recipient"], name="low_stock_notice_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.recipient_id}"

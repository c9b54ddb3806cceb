"""Random interleavings of every stock operation, checked against a plain sequential model.

The model keeps on-hand units per (variant, location), the reservations with their allocations,
and the average cost, and applies the rules of docs/inventory.md one step at a time. After every
step the database must agree with it exactly, levels must equal the sum of their movements, and
nothing may be negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pasar.core.errors import DomainError
from pasar.core.tenant import tenant_context
from pasar.inventory.models import (
    AllocationState,
    Reservation,
    ReservationAllocation,
    ReservationStatus,
    StockLevel,
    VariantCost,
)
from pasar.inventory.selectors import channel_sellable, stock_drift
from pasar.inventory.services import (
    InsufficientStock,
    InvalidStockRequest,
    ReservationClosed,
    ReservationExpired,
    ReserveLine,
    channel_buffer_set,
    reservations_release_expired,
    stock_adjust,
    stock_commit,
    stock_count_correct,
    stock_fulfil,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_return,
    stock_transfer,
)
from tests.factories import CompanyFactory, LocationFactory
from tests.inventory.conftest import FakeClock
from tests.inventory.factories import ChannelFactory, VariantFactory
from tests.inventory.profiles import inventory_settings

VARIANTS = 2
LOCATIONS = 2
Key = tuple[int, int]  # (variant index, location index)

variant_indexes = st.integers(0, VARIANTS - 1)
location_indexes = st.integers(0, LOCATIONS - 1)
picks = st.integers(0, 10_000)


@dataclass
class ModelAllocation:
    key: Key
    quantity: int
    state: str = AllocationState.OPEN


@dataclass
class ModelReservation:
    record: Reservation
    lines: list[tuple[int, int]]
    channel: int
    key: str
    expires_at: datetime
    status: str = ReservationStatus.PENDING
    allocations: list[ModelAllocation] = field(default_factory=list)

    def holds(self, now: datetime) -> bool:
        """Whether its open allocations still count against availability."""
        return self.status == ReservationStatus.COMMITTED or (
            self.status == ReservationStatus.PENDING and now < self.expires_at
        )

    def release_open(self) -> None:
        for allocation in self.allocations:
            if allocation.state == AllocationState.OPEN:
                allocation.state = AllocationState.RELEASED


def model_average(on_hand: int, average: Decimal, received: int, cost: Decimal) -> Decimal:
    if on_hand == 0:
        return cost
    with localcontext() as context:
        context.prec = 60
        exact = (on_hand * average + received * cost) / (on_hand + received)
        return exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def attempt(operation: Callable[[], Any]) -> tuple[Any, DomainError | None]:
    """Run a service: its result, or the domain error it refused with."""
    try:
        return operation(), None
    except DomainError as refused:
        return None, refused


class StockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.company = CompanyFactory()
        # Distinct priorities: the warehouse is always drawn from first.
        self.locations = [
            LocationFactory(company=self.company, name="Warehouse", allocation_priority=1),
            LocationFactory(company=self.company, name="Store", allocation_priority=2),
        ]
        self.variants = [
            VariantFactory(company=self.company, sku=f"SKU-{index}") for index in range(VARIANTS)
        ]
        self.channels = [
            ChannelFactory(company=self.company, kind="web"),
            ChannelFactory(company=self.company, kind="shopee", buffer_units=1),
        ]
        channel_buffer_set(
            company=self.company, channel=self.channels[1], variant=self.variants[1], units=2
        )
        self.buffers = {(0, 0): 0, (0, 1): 0, (1, 0): 1, (1, 1): 2}  # (channel, variant)
        self.on_hand: dict[Key, int] = {}
        self.average = [Decimal(0)] * VARIANTS
        self.reservations: list[ModelReservation] = []

    # --- the model's rules ---

    def now(self) -> datetime:
        return self.clock()

    def reserved(self, key: Key) -> int:
        return sum(
            allocation.quantity
            for reservation in self.reservations
            for allocation in reservation.allocations
            if allocation.key == key and allocation.state == AllocationState.OPEN
        )

    def reclaimable(self, keys: list[Key]) -> list[ModelAllocation]:
        """Open allocations of expired pending reservations on these levels."""
        return [
            allocation
            for reservation in self.reservations
            if reservation.status == ReservationStatus.PENDING
            and reservation.expires_at <= self.now()
            for allocation in reservation.allocations
            if allocation.key in keys and allocation.state == AllocationState.OPEN
        ]

    def available_after_reclaim(self, key: Key) -> int:
        freed = sum(allocation.quantity for allocation in self.reclaimable([key]))
        return self.on_hand[key] - self.reserved(key) + freed

    @staticmethod
    def reclaim(allocations: list[ModelAllocation]) -> None:
        for allocation in allocations:
            allocation.state = AllocationState.RELEASED

    def key_of(self, variant_id: int, location_id: int) -> Key:
        return (
            [variant.pk for variant in self.variants].index(variant_id),
            [location.pk for location in self.locations].index(location_id),
        )

    def pick(self, number: int) -> ModelReservation:
        return self.reservations[number % len(self.reservations)]

    # --- operations ---

    @rule(
        variant=variant_indexes,
        location=location_indexes,
        quantity=st.integers(1, 6),
        cost=st.decimals(min_value=0, max_value=50, places=2),
    )
    def receive(self, variant: int, location: int, quantity: int, cost: Decimal) -> None:
        stock_receive(
            company=self.company,
            variant=self.variants[variant],
            location=self.locations[location],
            quantity=quantity,
            unit_cost=cost,
            clock=self.clock,
        )
        total = sum(units for (v, _), units in self.on_hand.items() if v == variant)
        self.average[variant] = model_average(total, self.average[variant], quantity, cost)
        key = (variant, location)
        self.on_hand[key] = self.on_hand.get(key, 0) + quantity

    @rule(variant=variant_indexes, location=location_indexes, quantity=st.integers(1, 3))
    def give_back(self, variant: int, location: int, quantity: int) -> None:
        stock_return(
            company=self.company,
            variant=self.variants[variant],
            location=self.locations[location],
            quantity=quantity,
            clock=self.clock,
        )
        key = (variant, location)
        self.on_hand[key] = self.on_hand.get(key, 0) + quantity

    @rule(
        variant=variant_indexes,
        location=location_indexes,
        quantity=st.integers(-6, 6).filter(bool),
    )
    def adjust(self, variant: int, location: int, quantity: int) -> None:
        key = (variant, location)
        if key in self.on_hand:
            freed = self.reclaimable([key])
            allowed = self.on_hand[key] + quantity >= self.reserved(key) - sum(
                allocation.quantity for allocation in freed
            )
        else:
            freed, allowed = [], quantity > 0
        try:
            stock_adjust(
                company=self.company,
                variant=self.variants[variant],
                location=self.locations[location],
                quantity=quantity,
                reason="shelf check",
                clock=self.clock,
            )
        except InsufficientStock:
            assert not allowed
            return
        assert allowed
        self.reclaim(freed)
        self.on_hand[key] = self.on_hand.get(key, 0) + quantity

    @rule(
        variant=variant_indexes,
        origin=location_indexes,
        destination=location_indexes,
        quantity=st.integers(1, 5),
    )
    def transfer(self, variant: int, origin: int, destination: int, quantity: int) -> None:
        from_key, to_key = (variant, origin), (variant, destination)
        try:
            stock_transfer(
                company=self.company,
                variant=self.variants[variant],
                from_location=self.locations[origin],
                to_location=self.locations[destination],
                quantity=quantity,
                clock=self.clock,
            )
        except InvalidStockRequest:
            assert origin == destination
            return
        except InsufficientStock:
            assert from_key not in self.on_hand or self.available_after_reclaim(from_key) < quantity
            return
        assert origin != destination
        assert self.available_after_reclaim(from_key) >= quantity
        self.reclaim(self.reclaimable([from_key]))
        self.on_hand[from_key] -= quantity
        self.on_hand[to_key] = self.on_hand.get(to_key, 0) + quantity

    @rule(variant=variant_indexes, location=location_indexes, counted=st.integers(0, 12))
    def count(self, variant: int, location: int, counted: int) -> None:
        key = (variant, location)
        self.on_hand.setdefault(key, 0)
        freed = self.reclaimable([key])
        promised = self.reserved(key) - sum(allocation.quantity for allocation in freed)
        try:
            stock_count_correct(
                company=self.company,
                variant=self.variants[variant],
                location=self.locations[location],
                counted=counted,
                clock=self.clock,
            )
        except InsufficientStock:
            assert counted < promised
            return
        assert counted >= promised
        self.reclaim(freed)
        self.on_hand[key] = counted

    @rule(
        channel=st.integers(0, 1),
        lines=st.lists(st.tuples(variant_indexes, st.integers(1, 4)), min_size=1, max_size=3),
        ttl=st.integers(10, 120),
    )
    def reserve(self, channel: int, lines: list[tuple[int, int]], ttl: int) -> None:
        requested: dict[int, int] = {}
        for variant, quantity in lines:
            requested[variant] = requested.get(variant, 0) + quantity
        keys = [key for key in self.on_hand if key[0] in requested]
        freed = self.reclaimable(keys)
        available = {
            key: self.on_hand[key]
            - self.reserved(key)
            + sum(allocation.quantity for allocation in freed if allocation.key == key)
            for key in keys
        }
        plan: list[ModelAllocation] = []
        shortages = []
        for variant in sorted(requested, key=lambda index: self.variants[index].sku):
            candidates = sorted((key for key in keys if key[0] == variant), key=lambda k: k[1])
            sellable = max(
                0, sum(available[key] for key in candidates) - self.buffers[(channel, variant)]
            )
            if requested[variant] > sellable:
                shortages.append(
                    {
                        "sku": self.variants[variant].sku,
                        "requested": requested[variant],
                        "available": sellable,
                    }
                )
                continue
            remaining = requested[variant]
            for key in candidates:
                take = min(available[key], remaining)
                if take > 0:
                    plan.append(ModelAllocation(key, take))
                    remaining -= take

        idempotency_key = f"order-{len(self.reservations)}"
        record, refused = attempt(
            lambda: stock_reserve(
                company=self.company,
                channel=self.channels[channel],
                lines=[ReserveLine(self.variants[v].sku, quantity) for v, quantity in lines],
                ttl=timedelta(seconds=ttl),
                idempotency_key=idempotency_key,
                clock=self.clock,
            )
        )
        if shortages:
            assert isinstance(refused, InsufficientStock)
            assert refused.details == shortages
            return
        assert refused is None
        self.reclaim(freed)
        self.reservations.append(
            ModelReservation(
                record=record,
                lines=lines,
                channel=channel,
                key=idempotency_key,
                expires_at=self.now() + timedelta(seconds=ttl),
                allocations=plan,
            )
        )

    @precondition(lambda self: self.reservations)
    @rule(number=picks)
    def replay(self, number: int) -> None:
        """The same request under the same idempotency key changes nothing."""
        reservation = self.pick(number)
        again = stock_reserve(
            company=self.company,
            channel=self.channels[reservation.channel],
            lines=[
                ReserveLine(self.variants[v].sku, quantity) for v, quantity in reservation.lines
            ],
            ttl=timedelta(seconds=30),
            idempotency_key=reservation.key,
            clock=self.clock,
        )
        assert again.pk == reservation.record.pk

    @precondition(lambda self: self.reservations)
    @rule(number=picks)
    def commit(self, number: int) -> None:
        reservation = self.pick(number)
        expected: type[Exception] | None = None
        if reservation.status == ReservationStatus.RELEASED:
            expected = ReservationClosed
        elif reservation.status == ReservationStatus.EXPIRED:
            expected = ReservationExpired
        elif reservation.status == ReservationStatus.PENDING:
            if all(a.state == AllocationState.OPEN for a in reservation.allocations):
                reservation.status = ReservationStatus.COMMITTED
            else:
                reservation.release_open()
                reservation.status = ReservationStatus.EXPIRED
                expected = ReservationExpired
        _, refused = attempt(
            lambda: stock_commit(
                company=self.company, reservation=reservation.record, clock=self.clock
            )
        )
        assert (type(refused) if refused else None) is expected

    @precondition(lambda self: self.reservations)
    @rule(number=picks)
    def fulfil(self, number: int) -> None:
        reservation = self.pick(number)
        allowed = reservation.status in (ReservationStatus.COMMITTED, ReservationStatus.FULFILLED)
        try:
            stock_fulfil(company=self.company, reservation=reservation.record, clock=self.clock)
        except ReservationClosed:
            assert not allowed
            return
        assert allowed
        if reservation.status == ReservationStatus.COMMITTED:
            for allocation in reservation.allocations:
                if allocation.state == AllocationState.OPEN:
                    self.on_hand[allocation.key] -= allocation.quantity
                    allocation.state = AllocationState.FULFILLED
            reservation.status = ReservationStatus.FULFILLED

    @precondition(lambda self: self.reservations)
    @rule(number=picks)
    def release(self, number: int) -> None:
        reservation = self.pick(number)
        allowed = reservation.status != ReservationStatus.FULFILLED
        try:
            stock_release(company=self.company, reservation=reservation.record, clock=self.clock)
        except ReservationClosed:
            assert not allowed
            return
        assert allowed
        if reservation.status in (ReservationStatus.PENDING, ReservationStatus.COMMITTED):
            reservation.release_open()
            reservation.status = ReservationStatus.RELEASED

    @rule(seconds=st.integers(1, 100))
    def advance_time(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule()
    def expire(self) -> None:
        """The periodic sweep."""
        reservations_release_expired(clock=self.clock)
        for reservation in self.reservations:
            if (
                reservation.status == ReservationStatus.PENDING
                and reservation.expires_at <= self.now()
            ):
                reservation.release_open()
                reservation.status = ReservationStatus.EXPIRED

    # --- what must always hold ---

    @invariant()
    def levels_match_the_model(self) -> None:
        with tenant_context(self.company):
            stored = {
                self.key_of(variant_id, location_id): (on_hand, reserved)
                for variant_id, location_id, on_hand, reserved in StockLevel.objects.values_list(
                    "variant_id", "location_id", "on_hand", "reserved"
                )
            }
        expected = {key: (units, self.reserved(key)) for key, units in self.on_hand.items()}
        assert stored == expected
        assert all(0 <= reserved <= on_hand for on_hand, reserved in stored.values())

    @invariant()
    def levels_equal_the_sum_of_their_movements(self) -> None:
        assert stock_drift(company=self.company) == []

    @invariant()
    def reservations_match_the_model(self) -> None:
        with tenant_context(self.company):
            statuses = dict(Reservation.objects.values_list("pk", "status"))
            allocations: dict[int, list[tuple[Key, int, str]]] = {}
            for (
                reservation_id,
                variant_id,
                location_id,
                quantity,
                state,
            ) in ReservationAllocation.objects.order_by("id").values_list(
                "reservation_id", "level__variant_id", "level__location_id", "quantity", "state"
            ):
                allocations.setdefault(reservation_id, []).append(
                    (self.key_of(variant_id, location_id), quantity, state)
                )
        assert statuses == {r.record.pk: r.status for r in self.reservations}
        assert allocations == {
            r.record.pk: [(a.key, a.quantity, a.state) for a in r.allocations]
            for r in self.reservations
            if r.allocations
        }

    @invariant()
    def no_level_expects_its_first_expiry_later_than_it_comes(self) -> None:
        """A reclaim is skipped while `next_expiry` lies ahead, so it may be early, never late;
        and a paid hold never expires."""
        with tenant_context(self.company):
            earliest: dict[int, Any] = {}
            for level_id, holds_until, status in ReservationAllocation.objects.filter(
                state=AllocationState.OPEN
            ).values_list("level_id", "holds_until", "reservation__status"):
                if status != ReservationStatus.PENDING:
                    assert holds_until is None
                    continue
                assert holds_until is not None
                earliest[level_id] = min(holds_until, earliest.get(level_id, holds_until))
            next_expiry = dict(StockLevel.objects.values_list("pk", "next_expiry"))
        for level_id, first in earliest.items():
            assert next_expiry[level_id] is not None
            assert next_expiry[level_id] <= first

    @invariant()
    def each_channel_sees_what_the_model_says(self) -> None:
        for index, channel in enumerate(self.channels):
            sellable = channel_sellable(
                company=self.company, channel=channel, variants=self.variants, at=self.now()
            )
            for variant_index, variant in enumerate(self.variants):
                held = sum(
                    allocation.quantity
                    for reservation in self.reservations
                    if reservation.holds(self.now())
                    for allocation in reservation.allocations
                    if allocation.key[0] == variant_index
                    and allocation.state == AllocationState.OPEN
                )
                units = sum(
                    on_hand for (v, _), on_hand in self.on_hand.items() if v == variant_index
                )
                expected = max(0, units - held - self.buffers[(index, variant_index)])
                assert sellable[variant.pk] == expected

    @invariant()
    def average_cost_matches_the_model(self) -> None:
        with tenant_context(self.company):
            stored = dict(VariantCost.objects.values_list("variant_id", "average_cost"))
        for index, variant in enumerate(self.variants):
            assert stored.get(variant.pk, Decimal(0)) == self.average[index]


@pytest.mark.django_db
def test_stock_agrees_with_a_sequential_model() -> None:
    run_state_machine_as_test(
        StockMachine, settings=inventory_settings(max_examples=15, stateful_step_count=30)
    )

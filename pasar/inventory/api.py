"""The /api/v1/inventory/ endpoints: reservations and the stock operations.

Each view reads its input with a StrictSerializer, calls one service and answers with the
record as it now stands; the rules live in `pasar.inventory.services`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.catalog.models import Variant
from pasar.core.api import StrictSerializer
from pasar.core.errors import DomainError, NotFound
from pasar.inventory import selectors, services
from pasar.inventory.models import (
    Channel,
    ChannelKind,
    Location,
    LocationKind,
    PurchaseReceipt,
    Reservation,
    ReservationStatus,
    StockCount,
    StockCountStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from pasar.inventory.services import MAX_RESERVATION_TTL
from pasar.tenancy.models import User
from pasar.tenancy.permissions import ReadWriteActions, RoleAllows, acting_company

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Send the same key again (after a timeout, say) to get the same reservation "
    "back instead of a second one.",
)


class ReserveLineInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class ReservationInput(StrictSerializer):
    channel = serializers.ChoiceField(choices=ChannelKind.choices)
    ttl_seconds = serializers.IntegerField(
        min_value=1,
        max_value=int(MAX_RESERVATION_TTL.total_seconds()),
        help_text="How long the units are held unless the reservation is committed.",
    )
    lines = serializers.ListField(child=ReserveLineInput(), min_length=1, max_length=200)


class AllocationOutput(serializers.Serializer):
    sku = serializers.CharField(source="level.variant.sku")
    location = serializers.UUIDField(source="level.location.public_id")
    location_name = serializers.CharField(source="level.location.name")
    quantity = serializers.IntegerField()
    state = serializers.CharField()


class ReservationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    channel = serializers.CharField(source="channel.kind")
    status = serializers.SerializerMethodField(
        help_text="pending, committed, fulfilled, released or expired (also once a pending "
        "reservation is past its expiry, before the sweep has marked it)."
    )
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    committed_at = serializers.DateTimeField(allow_null=True)
    fulfilled_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    lines = serializers.SerializerMethodField()
    allocations = AllocationOutput(many=True)

    def get_status(self, reservation: Reservation) -> str:
        if reservation.is_expired(self.context["now"]):
            return ReservationStatus.EXPIRED
        return reservation.status

    def get_lines(self, reservation: Reservation) -> list[dict[str, Any]]:
        quantities: dict[str, int] = {}
        for allocation in reservation.allocations.all():
            sku = allocation.level.variant.sku
            quantities[sku] = quantities.get(sku, 0) + allocation.quantity
        return [{"sku": sku, "quantity": quantity} for sku, quantity in quantities.items()]


def _reservation_data(reservation: Reservation) -> Any:
    """The reservation as the API shows it; its allocations should be prefetched."""
    return ReservationOutput(reservation, context={"now": timezone.now()}).data


def _answer(request: Request, reservation: Reservation) -> Response:
    """The reservation as it now stands, read again with its allocations."""
    fresh = selectors.reservation_get(
        company=acting_company(request), public_id=reservation.public_id
    )
    return Response(_reservation_data(fresh))


def _open_channel(request: Request, kind: str) -> Channel:
    channel = selectors.channel_by_kind(company=acting_company(request), kind=kind)
    if channel is None:
        message = f"This company does not sell through the {ChannelKind(kind).label} channel."
        raise DomainError(
            message,
            code="unknown_channel",
            details=[{"field": "channel", "code": "unknown_channel", "message": message}],
        )
    return channel


class ReservationListView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "insufficient_stock": "Not enough available; `details` names each line short.",
            "channel_closed": "The channel is closed.",
            "not_for_sale": "A line is a draft or archived product.",
            "idempotency_key_reused": "The Idempotency-Key was used for a different request.",
        },
    }
    permission_classes = (RoleAllows.to("stock.reserve"),)

    @extend_schema(
        request=ReservationInput,
        responses={201: ReservationOutput},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Reserve stock for an order: every line or none",
        description="Units are drawn from locations in allocation-priority order and split when "
        "one lacks enough. 409 `insufficient_stock` names the lines that fell short.",
    )
    def post(self, request: Request) -> Response:
        serializer = ReservationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reservation = services.stock_reserve(
            company=acting_company(request),
            channel=_open_channel(request, data["channel"]),
            lines=[services.ReserveLine(line["sku"], line["quantity"]) for line in data["lines"]],
            ttl=timedelta(seconds=data["ttl_seconds"]),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        # stock_reserve hands back the reservation with its allocations: answering reads
        # nothing more while the request's transaction still holds the level locks.
        return Response(_reservation_data(reservation), status=status.HTTP_201_CREATED)


class ReservationDetailView(APIView):
    permission_classes = (RoleAllows.to("stock.view"),)

    @extend_schema(responses={200: ReservationOutput}, summary="One reservation")
    def get(self, request: Request, public_id: str) -> Response:
        company = acting_company(request)
        return Response(
            _reservation_data(selectors.reservation_get(company=company, public_id=public_id))
        )


class ReservationStepView(APIView):
    """POST .../commit, .../fulfil or .../release: one step of the reservation's life."""

    permission_classes = (RoleAllows.to("stock.reserve"),)
    step: Callable[..., Reservation]

    @extend_schema(request=None, responses={200: ReservationOutput})
    def post(self, request: Request, public_id: str) -> Response:
        company = acting_company(request)
        reservation = selectors.reservation_get(company=company, public_id=public_id)
        return _answer(request, type(self).step(company=company, reservation=reservation))


@extend_schema_view(post=extend_schema(summary="Payment received: hold the units until shipping"))
class ReservationCommitView(ReservationStepView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "reservation_closed": "It was already released, expired or fulfilled.",
            "reservation_expired": "It expired before this step.",
        },
    }
    step = staticmethod(services.stock_commit)


@extend_schema_view(post=extend_schema(summary="Shipped: the units leave stock as a sale"))
class ReservationFulfilView(ReservationStepView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "reservation_closed": "It was released, expired or already fulfilled.",
            "reservation_expired": "It expired before this step.",
        },
    }
    step = staticmethod(services.stock_fulfil)


@extend_schema_view(post=extend_schema(summary="Cancelled: the units are free again"))
class ReservationReleaseView(ReservationStepView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "reservation_closed": "It was already fulfilled.",
        },
    }
    step = staticmethod(services.stock_release)


# --- Stock operations: locations, levels, movements, adjustments, channels, transfers, counts,
# purchase receipts and low stock. Reading needs stock.view (locations: location.view),
# changing needs stock.manage (locations: location.manage).


class OperationsView(ReadWriteActions, APIView):
    read_action = "stock.view"
    write_action = "stock.manage"


class OperationsListView(OperationsView, ListAPIView):
    pass


def _valid_input(serializer_class: type[serializers.Serializer], request: Request) -> Any:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _location(request: Request, public_id: Any) -> Location:
    return selectors.location_get(company=acting_company(request), public_id=public_id)


def _variant(request: Request, sku: str) -> Variant:
    return selectors.variant_by_sku(company=acting_company(request), sku=sku)


class PlaceOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


# Locations


class LocationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    address_line1 = serializers.CharField()
    address_line2 = serializers.CharField()
    postal_code = serializers.CharField()
    allocation_priority = serializers.IntegerField(
        help_text="Reservations draw from the lowest number first."
    )
    is_active = serializers.BooleanField(help_text="A closed location is not drawn from.")
    created_at = serializers.DateTimeField()


class LocationCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=LocationKind.choices, default=LocationKind.STORE)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=6, required=False, allow_blank=True)
    allocation_priority = serializers.IntegerField(min_value=0, max_value=32767, default=100)


class LocationUpdateInput(LocationCreateInput):
    name = serializers.CharField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=LocationKind.choices, required=False)
    allocation_priority = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    is_active = serializers.BooleanField(required=False)


@extend_schema_view(
    get=extend_schema(
        summary="The company's locations, in the order stock is drawn from them",
        parameters=[
            OpenApiParameter(
                "include_closed", OpenApiTypes.BOOL, description="Also list closed locations."
            )
        ],
    )
)
class LocationListView(OperationsListView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "location_name_taken": "Another location has that name.",
        },
    }
    read_action = "location.view"
    write_action = "location.manage"
    serializer_class = LocationOutput

    def get_queryset(self) -> QuerySet[Location]:
        closed = self.request.query_params.get("include_closed", "") in ("1", "true")
        return selectors.location_list(company=acting_company(self.request), active_only=not closed)

    @extend_schema(
        request=LocationCreateInput, responses={201: LocationOutput}, summary="Add a location"
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(LocationCreateInput, request)
        location = services.location_create(company=acting_company(request), **data)
        return Response(LocationOutput(location).data, status=status.HTTP_201_CREATED)


class LocationDetailView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "patch": {
            "location_name_taken": "Another location has that name.",
        },
    }
    read_action = "location.view"
    write_action = "location.manage"

    @extend_schema(responses={200: LocationOutput}, summary="One location")
    def get(self, request: Request, public_id: str) -> Response:
        return Response(LocationOutput(_location(request, public_id)).data)

    @extend_schema(
        request=LocationUpdateInput,
        responses={200: LocationOutput},
        summary="Rename, re-prioritise, close or reopen a location",
    )
    def patch(self, request: Request, public_id: str) -> Response:
        location = _location(request, public_id)
        data = _valid_input(LocationUpdateInput, request)
        location = services.location_update(
            company=acting_company(request), location=location, actor=_actor(request), **data
        )
        return Response(LocationOutput(location).data)


# Levels, movements, adjustments


class StockLevelOutput(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    product = serializers.CharField(source="variant.product.name")
    location = serializers.UUIDField(source="location.public_id")
    location_name = serializers.CharField(source="location.name")
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField(help_text="Promised to open reservations.")
    available = serializers.IntegerField(
        source="available_now", help_text="On hand less the units live reservations hold."
    )
    reorder_point = serializers.IntegerField()
    reorder_quantity = serializers.IntegerField()
    is_low = serializers.SerializerMethodField()

    def get_is_low(self, level: StockLevel) -> bool:
        return level.is_low


@extend_schema_view(
    get=extend_schema(
        summary="Stock levels: on hand, reserved and available per SKU and location",
        parameters=[
            OpenApiParameter("location", OpenApiTypes.UUID),
            OpenApiParameter("sku", OpenApiTypes.STR, description="Exact SKU."),
            OpenApiParameter(
                "low", OpenApiTypes.BOOL, description="Only levels at or below reorder point."
            ),
        ],
    )
)
class StockLevelListView(OperationsListView):
    serializer_class = StockLevelOutput

    def get_queryset(self) -> QuerySet[StockLevel]:
        params = self.request.query_params
        location = _location(self.request, params["location"]) if params.get("location") else None
        return selectors.stock_level_list(
            company=acting_company(self.request),
            location=location,
            sku=params.get("sku", "").strip(),
            low_only=params.get("low", "") in ("1", "true"),
        )


class ReorderInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.UUIDField()
    reorder_point = serializers.IntegerField(min_value=0, max_value=1_000_000)
    reorder_quantity = serializers.IntegerField(min_value=0, max_value=1_000_000)


class StockLevelReorderView(OperationsView):
    @extend_schema(
        request=ReorderInput,
        responses={200: StockLevelOutput},
        summary="Set when to reorder a SKU at a location, and how many",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(ReorderInput, request)
        company = acting_company(request)
        variant, location = _variant(request, data["sku"]), _location(request, data["location"])
        services.stock_level_set_reorder(
            company=company,
            variant=variant,
            location=location,
            reorder_point=data["reorder_point"],
            reorder_quantity=data["reorder_quantity"],
        )
        level = selectors.stock_levels(company=company, variant=variant, location=location).get()
        return Response(StockLevelOutput(level).data)


class MovementOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    sku = serializers.CharField(source="variant.sku")
    location = serializers.UUIDField(source="location.public_id")
    location_name = serializers.CharField(source="location.name")
    kind = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Signed: + in, - out.")
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4)
    reason = serializers.CharField()
    source_type = serializers.CharField(help_text="The kind of document that caused it.")
    source_id = serializers.CharField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_actor(self, movement: StockMovement) -> str | None:
        actor = movement.actor
        return None if actor is None else (actor.full_name or actor.email)


@extend_schema_view(
    get=extend_schema(
        summary="A SKU's movement history, newest first",
        parameters=[
            OpenApiParameter("sku", OpenApiTypes.STR, required=True),
            OpenApiParameter("location", OpenApiTypes.UUID),
        ],
    )
)
class MovementListView(OperationsListView):
    serializer_class = MovementOutput

    def get_queryset(self) -> QuerySet[StockMovement]:
        params = self.request.query_params
        if not params.get("sku", "").strip():
            message = "Name the SKU whose movements to list (?sku=...)."
            raise DomainError(
                message, code="invalid", details=[{"field": "sku", "code": "required"}]
            )
        location = _location(self.request, params["location"]) if params.get("location") else None
        return selectors.movement_history(
            company=acting_company(self.request),
            variant=_variant(self.request, params["sku"]),
            location=location,
        ).select_related("variant")


class AdjustmentInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    location = serializers.UUIDField()
    quantity = serializers.IntegerField(
        min_value=-1_000_000, max_value=1_000_000, help_text="+ to add units, - to write off."
    )
    reason = serializers.CharField(max_length=200)


class AdjustmentView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "insufficient_stock": "On hand would fall below what is reserved, or below 0.",
        },
    }

    @extend_schema(
        request=AdjustmentInput,
        responses={201: MovementOutput},
        summary="Add or write off units for a stated reason",
        description="409 `insufficient_stock` when fewer unpromised units remain than written off.",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(AdjustmentInput, request)
        movement = services.stock_adjust(
            company=acting_company(request),
            variant=_variant(request, data["sku"]),
            location=_location(request, data["location"]),
            quantity=data["quantity"],
            reason=data["reason"],
            actor=_actor(request),
        )
        movement = selectors.movement_get(company=acting_company(request), pk=movement.pk)
        return Response(MovementOutput(movement).data, status=status.HTTP_201_CREATED)


# Channels and buffers


class ChannelOutput(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField(source="get_kind_display")
    buffer_units = serializers.IntegerField(help_text="Held back from every SKU by default.")
    is_active = serializers.BooleanField()
    buffers = serializers.SerializerMethodField(help_text="Per-SKU buffers overriding the default.")

    def get_buffers(self, channel: Channel) -> list[dict[str, Any]]:
        return [
            {"sku": buffer.variant.sku, "units": buffer.units}
            for buffer in channel.buffers.select_related("variant").order_by("variant__sku")
        ]


class ChannelCreateInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    buffer_units = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)


class ChannelBufferInput(StrictSerializer):
    buffer_units = serializers.IntegerField(min_value=0, max_value=1_000_000)
    sku = serializers.CharField(
        max_length=64, required=False, help_text="Only this SKU; without it, the default."
    )


def _channel(request: Request, kind: str) -> Channel:
    channel = selectors.channel_by_kind(company=acting_company(request), kind=kind)
    if channel is None:
        raise NotFound("This company has no such channel.", code="channel_not_found")
    return channel


class ChannelListView(OperationsListView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "channel_exists": "That channel is already open.",
        },
    }
    serializer_class = ChannelOutput
    pagination_class = None

    def get_queryset(self) -> QuerySet[Channel]:
        return selectors.channel_list(company=acting_company(self.request))

    @extend_schema(
        request=ChannelCreateInput,
        responses={201: ChannelOutput},
        summary="Open a sales channel (each kind once)",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(ChannelCreateInput, request)
        channel = services.channel_create(company=acting_company(request), **data)
        return Response(ChannelOutput(channel).data, status=status.HTTP_201_CREATED)


class ChannelBufferView(OperationsView):
    @extend_schema(
        request=ChannelBufferInput,
        responses={200: ChannelOutput},
        summary="Hold units back from a channel: by default, or for one SKU",
    )
    def put(self, request: Request, kind: str) -> Response:
        channel = _channel(request, kind)
        data = _valid_input(ChannelBufferInput, request)
        channel = services.channel_buffer_set(
            company=acting_company(request),
            channel=channel,
            units=data["buffer_units"],
            variant=_variant(request, data["sku"]) if data.get("sku") else None,
        )
        return Response(ChannelOutput(channel).data)


# Transfers


class DocumentLineInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class TransferLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    quantity = serializers.IntegerField(help_text="Units sent.")
    received = serializers.IntegerField(help_text="Units arrived so far.")
    outstanding = serializers.IntegerField(help_text="Units on the road.")
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4)


class TransferOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=TransferStatus.choices)
    # DRF takes declared fields off the class; only the stubs see them shadow Field.source.
    source = PlaceOutput()  # type: ignore[assignment]
    destination = PlaceOutput()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    lines = TransferLineOutput(many=True)


class TransferCreateInput(StrictSerializer):
    source = serializers.UUIDField()  # type: ignore[assignment]  # as in TransferOutput
    destination = serializers.UUIDField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = serializers.ListField(child=DocumentLineInput(), min_length=1, max_length=500)


class TransferReceiveInput(StrictSerializer):
    lines = serializers.ListField(
        child=DocumentLineInput(),
        min_length=1,
        max_length=500,
        help_text="The units of each SKU that arrived in this delivery.",
    )


def _transfer_answer(request: Request, transfer: Transfer, code: int = 200) -> Response:
    fresh = selectors.transfer_get(company=acting_company(request), public_id=transfer.public_id)
    return Response(TransferOutput(fresh).data, status=code)


@extend_schema_view(
    get=extend_schema(
        summary="The company's transfers, newest first",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=TransferStatus.values)],
    )
)
class TransferListView(OperationsListView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "insufficient_stock": "The source location does not have that much available.",
        },
    }
    serializer_class = TransferOutput

    def get_queryset(self) -> QuerySet[Transfer]:
        wanted = self.request.query_params.get("status") or None
        if wanted and wanted not in TransferStatus.values:
            message = "Status is one of " + ", ".join(TransferStatus.values) + "."
            raise DomainError(message, details=[{"field": "status", "code": "invalid"}])
        return selectors.transfer_list(company=acting_company(self.request), status=wanted)

    @extend_schema(
        request=TransferCreateInput,
        responses={201: TransferOutput},
        summary="Draft a transfer between two locations",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(TransferCreateInput, request)
        transfer = services.transfer_create(
            company=acting_company(request),
            source=_location(request, data["source"]),
            destination=_location(request, data["destination"]),
            lines=[(line["sku"], line["quantity"]) for line in data["lines"]],
            note=data["note"],
            actor=_actor(request),
        )
        return _transfer_answer(request, transfer, status.HTTP_201_CREATED)


def _transfer(request: Request, public_id: str) -> Transfer:
    return selectors.transfer_get(company=acting_company(request), public_id=public_id)


class TransferDetailView(OperationsView):
    @extend_schema(responses={200: TransferOutput}, summary="One transfer with its lines")
    def get(self, request: Request, public_id: str) -> Response:
        return _transfer_answer(request, _transfer(request, public_id))


class TransferDispatchView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "transfer_closed": "It was already dispatched or cancelled.",
            "insufficient_stock": "The source no longer has that much available.",
        },
    }

    @extend_schema(
        request=None,
        responses={200: TransferOutput},
        summary="Send the goods: they leave the source and are in transit",
        description="409 `insufficient_stock` names the lines the source cannot cover.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        transfer = services.transfer_dispatch(
            transfer=_transfer(request, public_id), actor=_actor(request)
        )
        return _transfer_answer(request, transfer)


class TransferReceiveView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "transfer_closed": "It was not dispatched, or was already received or cancelled.",
        },
    }

    @extend_schema(
        request=TransferReceiveInput,
        responses={200: TransferOutput},
        summary="Goods arrived at the destination (all or part)",
        description="409 `more_than_sent` when a line would receive more than was sent.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        transfer = _transfer(request, public_id)
        data = _valid_input(TransferReceiveInput, request)
        quantities: dict[str, int] = {}
        for line in data["lines"]:
            quantities[line["sku"]] = quantities.get(line["sku"], 0) + line["quantity"]
        transfer = services.transfer_receive(
            transfer=transfer, quantities=quantities, actor=_actor(request)
        )
        return _transfer_answer(request, transfer)


class TransferCancelView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "transfer_closed": "It was already received or cancelled.",
        },
    }

    @extend_schema(request=None, responses={200: TransferOutput}, summary="Drop a draft transfer")
    def post(self, request: Request, public_id: str) -> Response:
        transfer = services.transfer_cancel(
            transfer=_transfer(request, public_id), actor=_actor(request)
        )
        return _transfer_answer(request, transfer)


# Stock counts


class CountLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    expected = serializers.IntegerField(help_text="On hand when the sheet was made.")
    counted = serializers.IntegerField(allow_null=True)
    on_hand_at_post = serializers.IntegerField(allow_null=True)
    variance = serializers.IntegerField(
        allow_null=True, help_text="The count correction posted: counted less on hand then."
    )


class StockCountOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=StockCountStatus.choices)
    location = PlaceOutput()
    started_at = serializers.DateTimeField()
    posted_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    lines = CountLineOutput(many=True)


class CountStartInput(StrictSerializer):
    location = serializers.UUIDField()
    skus = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=5000,
        required=False,
        help_text="Count only these; without it, everything the location holds a level for.",
    )


class CountedLineInput(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    counted = serializers.IntegerField(min_value=0, max_value=10_000_000)


class CountRecordInput(StrictSerializer):
    lines = serializers.ListField(child=CountedLineInput(), min_length=1, max_length=5000)


def _count(request: Request, public_id: str) -> StockCount:
    return selectors.stock_count_get(company=acting_company(request), public_id=public_id)


def _count_answer(request: Request, count: StockCount, code: int = 200) -> Response:
    return Response(StockCountOutput(_count(request, str(count.public_id))).data, status=code)


@extend_schema_view(
    get=extend_schema(
        summary="The company's count sheets, newest first",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=StockCountStatus.values)],
    )
)
class StockCountListView(OperationsListView):
    serializer_class = StockCountOutput

    def get_queryset(self) -> QuerySet[StockCount]:
        wanted = self.request.query_params.get("status") or None
        if wanted and wanted not in StockCountStatus.values:
            message = "Status is one of " + ", ".join(StockCountStatus.values) + "."
            raise DomainError(message, details=[{"field": "status", "code": "invalid"}])
        return selectors.stock_count_list(company=acting_company(self.request), status=wanted)

    @extend_schema(
        request=CountStartInput,
        responses={201: StockCountOutput},
        summary="Start a count sheet with the on hand the records expect",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(CountStartInput, request)
        count = services.count_start(
            company=acting_company(request),
            location=_location(request, data["location"]),
            skus=data.get("skus"),
            actor=_actor(request),
        )
        return _count_answer(request, count, status.HTTP_201_CREATED)


class StockCountDetailView(OperationsView):
    @extend_schema(responses={200: StockCountOutput}, summary="One count sheet")
    def get(self, request: Request, public_id: str) -> Response:
        return _count_answer(request, _count(request, public_id))


class StockCountRecordView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "stock_count_closed": "It was already posted or cancelled.",
        },
    }

    @extend_schema(
        request=CountRecordInput,
        responses={200: StockCountOutput},
        summary="Write down counted quantities (again to recount)",
    )
    def post(self, request: Request, public_id: str) -> Response:
        count = _count(request, public_id)
        data = _valid_input(CountRecordInput, request)
        count = services.count_record(
            count=count,
            quantities={line["sku"]: line["counted"] for line in data["lines"]},
            actor=_actor(request),
        )
        return _count_answer(request, count)


class StockCountPostView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "stock_count_closed": "It was already posted or cancelled.",
            "count_below_reserved": "A counted figure is below what is reserved there.",
        },
    }

    @extend_schema(
        request=None,
        responses={200: StockCountOutput},
        summary="Post the variances as count corrections, against on hand now",
        description="409 `count_below_reserved` when a count is below the promised units.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        count = services.count_post(count=_count(request, public_id), actor=_actor(request))
        return _count_answer(request, count)


class StockCountCancelView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "stock_count_closed": "It was already posted or cancelled.",
        },
    }

    @extend_schema(request=None, responses={200: StockCountOutput}, summary="Abandon a count")
    def post(self, request: Request, public_id: str) -> Response:
        count = services.count_cancel(count=_count(request, public_id), actor=_actor(request))
        return _count_answer(request, count)


# Purchase receipts


class ReceiptLineInput(DocumentLineInput):
    unit_cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0), help_text="Cost per unit, SGD."
    )


class ReceiptLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    quantity = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4)


class PurchaseReceiptOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    location = PlaceOutput()
    supplier_name = serializers.CharField()
    reference = serializers.CharField()
    received_at = serializers.DateTimeField()
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField()
    lines = ReceiptLineOutput(many=True)


class PurchaseReceiptInput(StrictSerializer):
    location = serializers.UUIDField()
    supplier_name = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = serializers.ListField(child=ReceiptLineInput(), min_length=1, max_length=500)
    second_delivery = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The supplier's document was received before and this is another delivery "
        "under it; without it such a receipt is refused with 409 duplicate_receipt.",
    )


class PurchaseReceiptVoidInput(StrictSerializer):
    reason = serializers.CharField(max_length=200)


@extend_schema_view(get=extend_schema(summary="Goods received from suppliers, newest first"))
class PurchaseReceiptListView(OperationsListView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "duplicate_receipt": "This supplier document was received before; send"
            " `second_delivery: true` if it really is another delivery.",
        },
    }
    serializer_class = PurchaseReceiptOutput

    def get_queryset(self) -> QuerySet[PurchaseReceipt]:
        return selectors.purchase_receipt_list(company=acting_company(self.request))

    @extend_schema(
        request=PurchaseReceiptInput,
        responses={201: PurchaseReceiptOutput},
        summary="Receive goods from a supplier at their cost",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(PurchaseReceiptInput, request)
        company = acting_company(request)
        receipt = services.purchase_receipt_create(
            company=company,
            location=_location(request, data["location"]),
            supplier_name=data["supplier_name"],
            reference=data["reference"],
            lines=[(line["sku"], line["quantity"], line["unit_cost"]) for line in data["lines"]],
            actor=_actor(request),
            second_delivery=data["second_delivery"],
        )
        fresh = selectors.purchase_receipt_get(company=company, public_id=receipt.public_id)
        return Response(PurchaseReceiptOutput(fresh).data, status=status.HTTP_201_CREATED)


class PurchaseReceiptDetailView(OperationsView):
    @extend_schema(responses={200: PurchaseReceiptOutput}, summary="One goods receipt")
    def get(self, request: Request, public_id: str) -> Response:
        receipt = selectors.purchase_receipt_get(
            company=acting_company(request), public_id=public_id
        )
        return Response(PurchaseReceiptOutput(receipt).data)


class PurchaseReceiptVoidView(OperationsView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "receipt_voided": "It was already voided.",
            "insufficient_stock": "Part of the stock it added has been sold or moved.",
        },
    }

    @extend_schema(
        request=PurchaseReceiptVoidInput,
        responses={200: PurchaseReceiptOutput},
        summary="Void a receipt entered by mistake: its units leave again and the cost moves back",
    )
    def post(self, request: Request, public_id: str) -> Response:
        data = _valid_input(PurchaseReceiptVoidInput, request)
        company = acting_company(request)
        receipt = selectors.purchase_receipt_get(company=company, public_id=public_id)
        services.purchase_receipt_void(
            company=company, receipt=receipt, reason=data["reason"], actor=_actor(request)
        )
        fresh = selectors.purchase_receipt_get(company=company, public_id=public_id)
        return Response(PurchaseReceiptOutput(fresh).data)


# Low stock


@extend_schema_view(
    get=extend_schema(summary="What needs reordering: levels at or below their reorder point")
)
class LowStockListView(OperationsListView):
    serializer_class = StockLevelOutput

    def get_queryset(self) -> QuerySet[StockLevel]:
        return selectors.low_stock_list(company=acting_company(self.request))

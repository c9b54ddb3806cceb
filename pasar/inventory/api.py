"""The /api/v1/inventory/ endpoints for reservations.

Each view reads its input with a StrictSerializer, calls one service and answers with the
reservation as it now stands; the rules live in `pasar.inventory.services`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.core.api import StrictSerializer
from pasar.core.errors import DomainError
from pasar.inventory import selectors, services
from pasar.inventory.models import Channel, ChannelKind, Reservation, ReservationStatus
from pasar.inventory.services import MAX_RESERVATION_TTL
from pasar.tenancy.models import Company
from pasar.tenancy.permissions import RoleAllows

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


def _acting_for(request: Request) -> Company:
    """The company TenantMiddleware resolved; RoleAllows refused requests without one."""
    return cast(Company, request.company)  # type: ignore[attr-defined]


def _answer(request: Request, reservation: Reservation, code: int = status.HTTP_200_OK) -> Response:
    fresh = selectors.reservation_get(company=_acting_for(request), public_id=reservation.public_id)
    output = ReservationOutput(fresh, context={"now": timezone.now()})
    return Response(output.data, status=code)


def _open_channel(kind: str) -> Channel:
    channel = Channel.objects.filter(kind=kind).first()
    if channel is None:
        message = f"This company does not sell through the {ChannelKind(kind).label} channel."
        raise DomainError(
            message,
            code="unknown_channel",
            details=[{"field": "channel", "code": "unknown_channel", "message": message}],
        )
    return channel


class ReservationListView(APIView):
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
            company=_acting_for(request),
            channel=_open_channel(data["channel"]),
            lines=[services.ReserveLine(line["sku"], line["quantity"]) for line in data["lines"]],
            ttl=timedelta(seconds=data["ttl_seconds"]),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return _answer(request, reservation, status.HTTP_201_CREATED)


class ReservationDetailView(APIView):
    permission_classes = (RoleAllows.to("stock.view"),)

    @extend_schema(responses={200: ReservationOutput}, summary="One reservation")
    def get(self, request: Request, public_id: str) -> Response:
        company = _acting_for(request)
        return _answer(request, selectors.reservation_get(company=company, public_id=public_id))


class ReservationStepView(APIView):
    """POST .../commit, .../fulfil or .../release: one step of the reservation's life."""

    permission_classes = (RoleAllows.to("stock.reserve"),)
    step: Callable[..., Reservation]

    @extend_schema(request=None, responses={200: ReservationOutput})
    def post(self, request: Request, public_id: str) -> Response:
        company = _acting_for(request)
        reservation = selectors.reservation_get(company=company, public_id=public_id)
        return _answer(request, type(self).step(company=company, reservation=reservation))


@extend_schema_view(post=extend_schema(summary="Payment received: hold the units until shipping"))
class ReservationCommitView(ReservationStepView):
    step = staticmethod(services.stock_commit)


@extend_schema_view(post=extend_schema(summary="Shipped: the units leave stock as a sale"))
class ReservationFulfilView(ReservationStepView):
    step = staticmethod(services.stock_fulfil)


@extend_schema_view(post=extend_schema(summary="Cancelled: the units are free again"))
class ReservationReleaseView(ReservationStepView):
    step = staticmethod(services.stock_release)

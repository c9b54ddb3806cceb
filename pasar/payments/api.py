"""The /api/v1/payments/ endpoints: payments for payables, starting one at a gateway, refunds,
staff review, gateway settings and the webhook log.

Each view reads its input with a StrictSerializer, calls one service and answers with the
record as it now stands; the rules live in `pasar.payments.services`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.core.api import StrictSerializer
from pasar.core.errors import NotFound
from pasar.core.tenant import tenant_context
from pasar.core.transactions import no_request_transaction
from pasar.payments import selectors, services
from pasar.payments.gateways.base import Method
from pasar.payments.models import (
    GatewayAccount,
    GatewayChoice,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    WebhookLog,
    WebhookOutcome,
)
from pasar.tenancy.models import User
from pasar.tenancy.permissions import ReadWriteActions, RoleAllows, acting_company

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Send the same key again (after a timeout, say) to get the same refund back "
    "instead of a second one.",
)


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _in_company(request: Request) -> AbstractContextManager[None]:
    """A short transaction acting for the request's company, for the views that run with no
    request-wide transaction because they call a payment gateway."""
    return tenant_context(acting_company(request), user=_actor(request))


def _payment(request: Request, public_id: Any) -> Payment:
    found = selectors.payment(company=acting_company(request), public_id=public_id)
    if found is None:
        raise NotFound("That payment was not found.", code="payment_not_found")
    return services.payment_expire_if_due(found)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> Any:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Serializers ------------------------------------------------------------------------------


class AttemptOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    gateway = serializers.CharField()
    method = serializers.CharField()
    status = serializers.CharField()
    provider_reference = serializers.CharField()
    checkout_url = serializers.CharField()
    paynow_payload = serializers.CharField()
    error_kind = serializers.CharField()
    error_message = serializers.CharField()
    duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RefundOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.CharField()
    reason = serializers.CharField()
    gateway = serializers.CharField(source="capture.gateway")
    provider_refund_id = serializers.CharField()
    created_at = serializers.DateTimeField()


class PaymentOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    captured_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    refundable = serializers.DecimalField(max_digits=12, decimal_places=2)
    review_reason = serializers.CharField()
    expires_at = serializers.DateTimeField()
    captured_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    pay_url = serializers.SerializerMethodField()

    def get_pay_url(self, payment: Payment) -> str:
        request = self.context.get("request")
        path = reverse("payments:pay", args=[payment.company.public_id, payment.public_id])
        return request.build_absolute_uri(path) if request is not None else path


class PaymentDetailOutput(PaymentOutput):
    attempts = AttemptOutput(many=True, source="attempts.all")
    refunds = RefundOutput(many=True, source="refunds.all")


class PaymentInput(StrictSerializer):
    reference = serializers.CharField(max_length=100)
    amount = serializers.CharField(max_length=20, help_text='A string such as "25.90".')
    currency = serializers.CharField(max_length=3, default="SGD")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    purpose = serializers.ChoiceField(
        choices=PaymentPurpose.values,
        default=PaymentPurpose.CHECKOUT,
        help_text="`checkout` (the shopper pays now) or `link` (sent by chat or email): decides"
        " how long the payment stays open when `ttl_seconds` is not given, by the company's"
        " defaults (30 minutes and 24 hours unless changed).",
    )
    ttl_seconds = serializers.IntegerField(
        min_value=60,
        max_value=30 * 24 * 3600,
        required=False,
        help_text="Seconds the payment stays open; omitted: the company's default for `purpose`.",
    )


class StartInput(StrictSerializer):
    method = serializers.ChoiceField(choices=[m.value for m in Method])
    return_url = serializers.URLField(max_length=500, required=False)


class RefundInput(StrictSerializer):
    amount = serializers.CharField(max_length=20, help_text='A string such as "5.00".')
    reason = serializers.CharField(
        max_length=200, help_text="Why the money goes back; kept with the refund and audited."
    )


class ReviewInput(StrictSerializer):
    decision = serializers.ChoiceField(choices=["accept", "refund"])


class GatewayOutput(serializers.Serializer):
    gateway = serializers.CharField()
    priority = serializers.IntegerField()
    is_active = serializers.BooleanField()
    live = serializers.BooleanField()
    credential_hints = serializers.DictField(child=serializers.CharField())
    credentials_rejected_at = serializers.DateTimeField(allow_null=True)
    webhook_url = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_webhook_url(self, account: GatewayAccount) -> str:
        path = services.webhook_path(account.company, account.gateway)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class GatewayInput(StrictSerializer):
    priority = serializers.IntegerField(min_value=0, max_value=1000, default=100)
    is_active = serializers.BooleanField(default=True)
    live = serializers.BooleanField(default=False)
    credentials = serializers.DictField(
        child=serializers.CharField(max_length=500, allow_blank=True),
        required=False,
        default=dict,
        help_text="Each of the gateway's credential fields; a blank or missing one keeps the "
        "stored value.",
    )


class WebhookLogOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    gateway = serializers.CharField()
    received_at = serializers.DateTimeField()
    outcome = serializers.CharField()
    detail = serializers.CharField()
    event_id = serializers.CharField()
    event_kind = serializers.CharField()
    payment = serializers.UUIDField(source="payment.public_id", allow_null=True, default=None)
    headers = serializers.DictField()
    body = serializers.CharField()


# --- Views ------------------------------------------------------------------------------------


class PaymentListView(ReadWriteActions, ListAPIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "duplicate_reference": "A payment for that reference already exists.",
        },
    }
    read_action = "payment.view"
    write_action = "payment.create"
    serializer_class = PaymentOutput

    def get_queryset(self) -> QuerySet[Payment]:
        params = self.request.query_params
        return selectors.payments(
            company=acting_company(self.request),
            status=params.get("status", ""),
            query=params.get("reference", ""),
            review=params.get("review") == "true",
        ).select_related("company")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=PaymentStatus.values),
            OpenApiParameter("reference", description="Part of the reference or description."),
            OpenApiParameter("review", description="`true`: only payments waiting for review."),
        ],
        summary="Payments, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PaymentInput,
        responses={201: PaymentOutput},
        summary="A payment for a payable (an order number, say), open until its expiry",
    )
    def post(self, request: Request) -> Response:
        data = _valid(PaymentInput, request)
        payment = services.payment_create(
            company=acting_company(request),
            reference=data["reference"],
            amount=data["amount"],
            currency=data["currency"],
            description=data.get("description", ""),
            ttl=timedelta(seconds=data["ttl_seconds"]) if "ttl_seconds" in data else None,
            purpose=data["purpose"],
            actor=_actor(request),
        )
        return Response(
            PaymentOutput(payment, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class PaymentDetailView(APIView):
    permission_classes = (RoleAllows.to("payment.view"),)

    @extend_schema(responses={200: PaymentDetailOutput}, summary="One payment with its attempts")
    def get(self, request: Request, public_id: str) -> Response:
        payment = _payment(request, public_id)
        return Response(PaymentDetailOutput(payment, context={"request": request}).data)


@no_request_transaction
class PaymentStartView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "payment_closed": "It is paid, expired or cancelled.",
        },
    }
    permission_classes = (RoleAllows.to("payment.create"),)

    @extend_schema(
        request=StartInput,
        responses={201: AttemptOutput},
        summary="Create the payment at the first gateway that takes it",
        description="Gateways are tried in priority order; one that errors or times out is "
        "recorded and the next is tried. 503 `gateways_unavailable` when none took it.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        data = _valid(StartInput, request)
        with _in_company(request):
            payment = _payment(request, public_id)
        pay_path = reverse(
            "payments:pay", args=[acting_company(request).public_id, payment.public_id]
        )
        started = services.payment_start(
            payment=payment,
            method=data["method"],
            base_url=request.build_absolute_uri("/"),
            return_url=data.get("return_url") or request.build_absolute_uri(pay_path),
        )
        return Response(AttemptOutput(started.attempt).data, status=status.HTTP_201_CREATED)


class PaymentCancelView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "illegal_transition": "It is already paid, expired or cancelled.",
        },
    }
    permission_classes = (RoleAllows.to("payment.cancel"),)

    @extend_schema(request=None, responses={200: PaymentOutput}, summary="Stop waiting for it")
    def post(self, request: Request, public_id: str) -> Response:
        payment = services.payment_cancel(
            payment=_payment(request, public_id), actor=_actor(request)
        )
        return Response(PaymentOutput(payment, context={"request": request}).data)


@no_request_transaction
class RefundListView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "refund_not_allowed": "Nothing captured is left to refund.",
            "idempotency_key_reused": "The Idempotency-Key was used for a different refund.",
        },
    }
    permission_classes = (RoleAllows.to("payment.refund"),)

    @extend_schema(
        request=RefundInput,
        responses={201: RefundOutput},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Refund all or part of what was captured, through the gateway that took it",
        description="409 `refund_exceeds_balance` when more is asked than is left to refund.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        data = _valid(RefundInput, request)
        with _in_company(request):
            payment = _payment(request, public_id)
        refund = services.refund_create(
            payment=payment,
            amount=data["amount"],
            reason=data.get("reason", ""),
            actor=_actor(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        with _in_company(request):
            return Response(RefundOutput(refund).data, status=status.HTTP_201_CREATED)


@no_request_transaction
class ReviewView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "nothing_to_review": "The payment has nothing waiting for review.",
        },
    }
    permission_classes = (RoleAllows.to("payment.review"),)

    @extend_schema(
        request=ReviewInput,
        responses={200: PaymentOutput},
        summary="Decide on money that arrived late, twice or for the wrong amount",
    )
    def post(self, request: Request, public_id: str) -> Response:
        decision = _valid(ReviewInput, request)["decision"]
        with _in_company(request):
            payment = _payment(request, public_id)
        if decision == "accept":
            services.payment_review_accept(payment=payment, actor=_actor(request))
        else:
            services.payment_review_refund(payment=payment, actor=_actor(request))
        with _in_company(request):
            payment.refresh_from_db()
            return Response(PaymentOutput(payment, context={"request": request}).data)


class GatewayListView(APIView):
    permission_classes = (RoleAllows.to("gateway.view"),)

    @extend_schema(responses={200: GatewayOutput(many=True)}, summary="The gateways set up")
    def get(self, request: Request) -> Response:
        accounts = selectors.gateway_accounts(company=acting_company(request))
        return Response(GatewayOutput(accounts, many=True, context={"request": request}).data)


class GatewayDetailView(ReadWriteActions, APIView):
    read_action = "gateway.view"
    write_action = "gateway.manage"

    @extend_schema(responses={200: GatewayOutput}, summary="One gateway's settings")
    def get(self, request: Request, gateway: str) -> Response:
        account = selectors.gateway_account(company=acting_company(request), gateway=gateway)
        if account is None:
            raise NotFound("That gateway is not set up.", code="gateway_not_found")
        return Response(GatewayOutput(account, context={"request": request}).data)

    @extend_schema(
        request=GatewayInput,
        responses={200: GatewayOutput},
        summary="Set up or change a gateway; credentials are stored encrypted",
    )
    def put(self, request: Request, gateway: str) -> Response:
        if gateway not in GatewayChoice.values:
            raise NotFound("No such gateway.", code="gateway_not_found")
        data = _valid(GatewayInput, request)
        account = services.gateway_account_save(
            company=acting_company(request),
            gateway=gateway,
            credentials=data["credentials"],
            priority=data["priority"],
            is_active=data["is_active"],
            live=data["live"],
            actor=_actor(request),
        )
        return Response(GatewayOutput(account, context={"request": request}).data)


class WebhookLogListView(ListAPIView):
    permission_classes = (RoleAllows.to("webhook.view"),)
    serializer_class = WebhookLogOutput

    def get_queryset(self) -> QuerySet[WebhookLog]:
        params = self.request.query_params
        return selectors.webhook_logs(
            company=acting_company(self.request),
            gateway=params.get("gateway", ""),
            outcome=params.get("outcome", ""),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("gateway", enum=GatewayChoice.values),
            OpenApiParameter("outcome", enum=WebhookOutcome.values),
        ],
        summary="Every inbound webhook call, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

"""The payments back office: payments and their links, refunds and staff review, the gateway
settings and the webhook log.

The permission table decides who does what: sales may look at payments and make links,
managers and finance cancel them, only the owner and finance give money back, and managers set
up gateways. Writes go through `pasar.payments.services`, reads through its selectors; the
tenant middleware has already set the company, so every query sees that company's rows only.
"""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.core.errors import DomainError
from pasar.core.tenant import tenant_context
from pasar.core.transactions import no_request_transaction
from pasar.payments import selectors, services
from pasar.payments.forms import (
    GatewayAccountForm,
    PaymentLinkForm,
    PaymentSettingsForm,
    RefundForm,
)
from pasar.payments.gateways.base import GatewayName
from pasar.payments.gateways.registry import gateway_class
from pasar.payments.models import (
    OPEN_STATUSES,
    GatewayAccount,
    GatewayChoice,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReviewReason,
    WebhookOutcome,
)
from pasar.tenancy.models import User
from pasar.tenancy.permissions import acting_company, company_required, request_can

PAYMENTS_PER_PAGE = 50
WEBHOOKS_PER_PAGE = 50
GATEWAY_LABELS = dict(GatewayChoice.choices)
METHOD_LABELS = {"paynow": "PayNow", "card": "Card", "grabpay": "GrabPay"}

# What a staff member should weigh before accepting or refunding money that arrived oddly.
REVIEW_EXPLANATIONS = {
    ReviewReason.CAPTURED_AFTER_EXPIRY: (
        "The shopper paid after the payment link had expired. Accept the payment if you can "
        "still fulfil the order; otherwise refund it."
    ),
    ReviewReason.CAPTURED_AFTER_CANCEL: (
        "The money arrived after the payment was cancelled. Accept it only if the order goes "
        "ahead after all; otherwise refund it."
    ),
    ReviewReason.AMOUNT_MISMATCH: (
        "The gateway took a different amount than the payment asked for (compare Amount and "
        "Captured). Accept it if the difference is settled another way, or refund it and send "
        "a new payment link."
    ),
    ReviewReason.PAID_TWICE: (
        "Money arrived for a payment that was already paid. Refund it gives back the extra "
        "payment (the newest capture); Accept keeps both."
    ),
}


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _in_company(request: HttpRequest) -> AbstractContextManager[None]:
    """A short transaction acting for the request's company, for views that run with no
    request-wide transaction because they call a payment gateway."""
    return tenant_context(acting_company(request), user=_actor(request))


def _payment(request: HttpRequest, public_id: uuid.UUID) -> Payment:
    payment = selectors.payment(company=acting_company(request), public_id=public_id)
    if payment is None:
        raise Http404("No such payment.")
    return payment


def _detail_url(payment: Payment) -> str:
    return reverse("payments_office:payment_detail", kwargs={"public_id": payment.public_id})


# -- payments ---------------------------------------------------------------------------------


@require_GET
@company_required("payment.view")
def payment_list(request: HttpRequest) -> HttpResponse:
    """Payments newest first, filtered by status, reference text and "needs review"."""
    status = request.GET.get("status", "")
    if status not in PaymentStatus.values:
        status = ""
    query = request.GET.get("q", "").strip()
    review = request.GET.get("review") == "1"
    payments = selectors.payments(
        company=acting_company(request),
        status=status,
        query=query,
        review=review,
        with_gateway=True,
    )
    page = Paginator(payments, PAYMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/office_payment_list.html",
        {
            "page": page,
            "rows": [
                (payment, GATEWAY_LABELS.get(getattr(payment, "gateway_name", None) or "", ""))
                for payment in page
            ],
            "status": status,
            "statuses": PaymentStatus.choices,
            "query": query,
            "review": review,
            "filtered": bool(status or query or review),
            "now": timezone.now(),
            "open_statuses": OPEN_STATUSES,
            "can_create": request_can(request, "payment.create"),
        },
    )


@require_http_methods(["GET", "POST"])
@company_required("payment.create")
def payment_new(request: HttpRequest) -> HttpResponse:
    default_minutes = selectors.payment_settings(company=acting_company(request)).link_ttl_minutes
    form = PaymentLinkForm(request.POST or None, initial={"ttl_minutes": default_minutes})
    if request.method == "POST" and form.is_valid():
        try:
            payment = services.payment_create(
                company=acting_company(request),
                reference=form.cleaned_data["reference"],
                amount=form.cleaned_data["amount"],
                description=form.cleaned_data["description"],
                ttl=timedelta(minutes=form.cleaned_data["ttl_minutes"]),
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, f"The link for {payment.reference} is ready: send it to the shopper."
            )
            return redirect(_detail_url(payment))
    return render(
        request,
        "payments/office_payment_new.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


def _payment_page(
    request: HttpRequest,
    payment: Payment,
    *,
    refund_form: RefundForm | None = None,
    refund_confirmation: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    company = acting_company(request)
    pay_path = reverse("payments:pay", args=[company.public_id, payment.public_id])
    return render(
        request,
        "payments/office_payment_detail.html",
        {
            "payment": payment,
            **selectors.payment_detail(payment=payment),
            "pay_url": request.build_absolute_uri(pay_path),
            "is_open": payment.status in OPEN_STATUSES,
            "review_explanation": REVIEW_EXPLANATIONS.get(ReviewReason(payment.review_reason), "")
            if payment.review_reason
            else "",
            # A refused refund keeps its form on the page, so its error is seen.
            "can_refund": request_can(request, "payment.refund")
            and (payment.refundable > 0 or bool(refund_form and refund_form.errors)),
            "refund_form": refund_form or RefundForm(refundable=payment.refundable),
            "refund_confirmation": refund_confirmation,
            "can_review": request_can(request, "payment.review") and bool(payment.review_reason),
            "review_refund_amount": services.review_refund_amount(payment)
            if payment.review_reason
            else None,
            "can_cancel": request_can(request, "payment.cancel")
            and payment.status in OPEN_STATUSES,
            "can_view_webhooks": request_can(request, "webhook.view"),
            "error": error,
        },
        status=error.status if error else status,
    )


@require_GET
@company_required("payment.view")
def payment_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    # An unpaid payment past its expiry is expired as it is read, so the page tells the truth.
    return _payment_page(request, services.payment_expire_if_due(_payment(request, public_id)))


def _refund_message(refund: Refund) -> str:
    if refund.status == RefundStatus.SUCCEEDED:
        return f"S${refund.amount} refunded to the shopper."
    return (
        f"Refund of S${refund.amount} sent to {refund.capture.get_gateway_display()}; "
        "the payment updates when the gateway confirms it."
    )


@no_request_transaction
@require_POST
@company_required("payment.refund")
def payment_refund(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    with _in_company(request):
        payment = _payment(request, public_id)
    form = RefundForm(request.POST, refundable=payment.refundable)
    if form.is_valid() and request.POST.get("confirmed") != "yes":
        # Shown back with what will happen; only the confirmation sends money.
        with _in_company(request):
            return _payment_page(
                request,
                payment,
                refund_form=form,
                refund_confirmation={
                    "amount": form.cleaned_data["amount"],
                    "gateways": selectors.capture_gateway_names(payment=payment),
                },
            )
    if form.is_valid():
        try:
            refund = services.refund_create(
                payment=payment,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
                idempotency_key=form.cleaned_data.get("request_key") or None,
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            with _in_company(request):
                messages.success(request, _refund_message(refund))
            return redirect(_detail_url(payment))
    with _in_company(request):
        return _payment_page(request, payment, refund_form=form, status=400)


@no_request_transaction
@require_POST
@company_required("payment.review")
def payment_review(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Settle a payment waiting for review: keep the money ("accept") or give it back."""
    with _in_company(request):
        payment = _payment(request, public_id)
    decision = request.POST.get("decision", "")
    error: DomainError | None = None
    if decision not in ("accept", "refund"):
        error = DomainError("Choose whether to accept the payment or refund it.")
    else:
        try:
            if decision == "accept":
                services.payment_review_accept(payment=payment, actor=_actor(request))
                done = "the payment is accepted as captured."
            else:
                refund = services.payment_review_refund(payment=payment, actor=_actor(request))
                with _in_company(request):
                    done = _refund_message(refund)
        except DomainError as failure:
            error = failure
    if error is not None:
        with _in_company(request):
            # What an interrupted "refund it" did stays done: show the payment as it now is.
            payment.refresh_from_db()
            return _payment_page(request, payment, error=error)
    messages.success(request, f"{payment.reference}: {done}")
    return redirect(_detail_url(payment))


@require_POST
@company_required("payment.cancel")
def payment_cancel(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    payment = _payment(request, public_id)
    try:
        services.payment_cancel(payment=payment, actor=_actor(request))
    except DomainError as error:
        return _payment_page(request, payment, error=error)
    messages.success(
        request,
        f"{payment.reference} is cancelled; its link no longer takes payments. Money that still "
        "arrives is kept for review.",
    )
    return redirect(_detail_url(payment))


# -- gateway settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayCard:
    name: str
    label: str
    methods: list[str]
    account: GatewayAccount | None
    form: GatewayAccountForm
    webhook_url: str
    stored_hints: list[tuple[str, str]]  # (label, hint) of each stored credential


def _gateway_form(
    gateway: str, account: GatewayAccount | None, data: QueryDict | None = None
) -> GatewayAccountForm:
    return GatewayAccountForm(
        data,
        prefix=gateway,
        credential_fields=gateway_class(gateway).credential_fields,
        account=account,
        moves_money=gateway != GatewayName.SANDBOX,
    )


def _gateway_page(
    request: HttpRequest,
    *,
    bound: GatewayAccountForm | None = None,
    bound_defaults: PaymentSettingsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    company = acting_company(request)
    accounts = {
        account.gateway: account
        for account in selectors.gateway_accounts(company=acting_company(request))
    }
    cards = []
    for name, label in GatewayChoice.choices:
        account = accounts.get(name)
        form = bound if bound is not None and bound.prefix == name else _gateway_form(name, account)
        implementation = gateway_class(name)
        hints = account.credential_hints if account is not None else {}
        cards.append(
            GatewayCard(
                name=name,
                label=label,
                methods=[METHOD_LABELS[method] for method in implementation.methods],
                account=account,
                form=form,
                webhook_url=request.build_absolute_uri(services.webhook_path(company, name)),
                stored_hints=[
                    (field.label, hints[field.name])
                    for field in implementation.credential_fields
                    if field.name in hints
                ],
            )
        )
    sandbox = accounts.get(GatewayChoice.SANDBOX)
    stored = selectors.payment_settings(company=acting_company(request))
    defaults_form = bound_defaults or PaymentSettingsForm(
        initial={
            "link_ttl_minutes": stored.link_ttl_minutes,
            "checkout_ttl_minutes": stored.checkout_ttl_minutes,
        }
    )
    return render(
        request,
        "payments/office_gateways.html",
        {
            "cards": cards,
            "defaults_form": defaults_form,
            "can_manage": request_can(request, "gateway.manage"),
            "sandbox_on": sandbox is not None and sandbox.is_active,
            "any_active": any(account.is_active for account in accounts.values()),
        },
        status=status,
    )


@require_GET
@company_required("gateway.view")
def gateway_settings(request: HttpRequest) -> HttpResponse:
    return _gateway_page(request)


@require_POST
@company_required("gateway.manage")
def gateway_save(request: HttpRequest, gateway: str) -> HttpResponse:
    if gateway not in GatewayChoice.values:
        raise Http404("No such gateway.")
    account = selectors.gateway_account(company=acting_company(request), gateway=gateway)
    form = _gateway_form(gateway, account, request.POST)
    if form.is_valid():
        try:
            services.gateway_account_save(
                company=acting_company(request),
                gateway=gateway,
                credentials=form.credentials(),
                priority=form.cleaned_data["priority"],
                is_active=form.cleaned_data["is_active"],
                live=form.cleaned_data.get("live", False),
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{GATEWAY_LABELS[gateway]} settings saved.")
            return redirect(reverse("payments_office:gateway_settings") + f"#gateway-{gateway}")
    return _gateway_page(request, bound=form, status=400)


@require_POST
@company_required("gateway.manage")
def payment_defaults_save(request: HttpRequest) -> HttpResponse:
    form = PaymentSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.payment_settings_save(
                company=acting_company(request),
                link_ttl_minutes=form.cleaned_data["link_ttl_minutes"],
                checkout_ttl_minutes=form.cleaned_data["checkout_ttl_minutes"],
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Payment expiry defaults saved.")
            return redirect(reverse("payments_office:gateway_settings") + "#payment-defaults")
    return _gateway_page(request, bound_defaults=form, status=400)


@require_POST
@company_required("gateway.manage")
def sandbox_enable(request: HttpRequest) -> HttpResponse:
    try:
        services.sandbox_enable(company=acting_company(request), actor=_actor(request))
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect(reverse("payments_office:gateway_settings"))
    messages.success(
        request,
        "The sandbox is on: payment pages offer PayNow and card through it, and no real money "
        "moves. Setting up a real gateway turns it off for good.",
    )
    return redirect(reverse("payments_office:gateway_settings") + "#gateway-sandbox")


# -- webhook log ------------------------------------------------------------------------------


@require_GET
@company_required("webhook.view")
def webhook_list(request: HttpRequest) -> HttpResponse:
    """Every inbound webhook call, newest first, filtered by gateway and outcome."""
    gateway = request.GET.get("gateway", "")
    if gateway not in GatewayChoice.values:
        gateway = ""
    outcome = request.GET.get("outcome", "")
    if outcome not in WebhookOutcome.values:
        outcome = ""
    logs = selectors.webhook_logs(company=acting_company(request), gateway=gateway, outcome=outcome)
    page = Paginator(logs, WEBHOOKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/office_webhook_list.html",
        {
            "page": page,
            "gateway": gateway,
            "gateways": GatewayChoice.choices,
            "outcome": outcome,
            "outcomes": WebhookOutcome.choices,
            "filtered": bool(gateway or outcome),
        },
    )


def readable_body(body: str) -> tuple[str, bool]:
    """The body as shown: indented when it is JSON (and whether it was), else as received."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body, False
    return json.dumps(parsed, indent=2, ensure_ascii=False), True


@require_GET
@company_required("webhook.view")
def webhook_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    log = selectors.webhook_log(company=acting_company(request), public_id=public_id)
    if log is None:
        raise Http404("No such webhook call.")
    body, is_json = readable_body(log.body)
    return render(
        request,
        "payments/office_webhook_detail.html",
        {
            "log": log,
            "headers": sorted(log.headers.items()),
            "body": body,
            "is_json": is_json,
            "can_view_payment": request_can(request, "payment.view"),
        },
    )

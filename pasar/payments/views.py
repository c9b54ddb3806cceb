"""Public payment pages and the inbound webhooks.

- `/webhooks/<gateway>/<company>/`: where providers notify; CSRF-exempt, verified by signature.
- `/pay/<company>/<payment>/`: the shopper's payment page (a payment link): amount, status,
  the way to pay, the PayNow QR.
- `/sandbox/<company>/<charge>/`: the sandbox provider's checkout with "Pay" and "Fail".

None of these needs a signed-in user: the webhook proves itself by its signature, the others
by an unguessable id in the URL, and they show nothing but what the payer needs.
"""

from __future__ import annotations

import base64
from typing import cast

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.core.errors import DomainError
from pasar.core.observability import client_ip
from pasar.core.tenant import tenant_context
from pasar.core.transactions import no_request_transaction
from pasar.payments import selectors, services
from pasar.payments.gateways import paynow
from pasar.payments.models import OFFER_STATUSES, OPEN_STATUSES, Payment
from pasar.tenancy.models import Company

MAX_WEBHOOK_BYTES = 256 * 1024
# The pay form redirects to a provider's hosted checkout; browsers apply form-action to that
# redirect, so the pay page alone allows the providers' checkout hosts.
CHECKOUT_HOSTS = [
    "https://checkout.stripe.com",
    "https://*.hit-pay.com",
    "https://*.2c2p.com",
]
_BASE_CSP = cast(dict[str, list[str]], settings.SECURE_CSP)
PAY_PAGE_CSP: dict[str, list[str]] = {
    **_BASE_CSP,
    "form-action": [*_BASE_CSP["form-action"], *CHECKOUT_HOSTS],
}


@no_request_transaction
@csrf_exempt
@require_POST
def webhook(request: HttpRequest, gateway: str, company: str) -> HttpResponse:
    address = client_ip(request)
    wait = services.webhook_rate_limited(address)
    if wait is not None:
        refused = JsonResponse(
            {"received": False, "error": "Too many webhook calls from this address."}, status=429
        )
        refused["Retry-After"] = str(wait)
        return refused
    if len(request.body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"received": False, "error": "body too large"}, status=413)
    try:
        result = services.webhook_receive(
            company_public_id=company,
            gateway=gateway,
            body=request.body,
            headers=dict(request.headers),
            remote_addr=address,
        )
    except DomainError as error:
        return JsonResponse({"received": False, "error": error.message}, status=error.status)
    body: dict[str, object] = {"received": result.status_code < 400, "outcome": result.outcome}
    if result.status_code >= 400:
        body["error"] = "The webhook could not be verified."
    return JsonResponse(body, status=result.status_code)


def _company(public_id: str) -> Company:
    company = selectors.company_by_public_id(public_id=public_id)
    if company is None:
        raise Http404("No such shop.")
    return company


def _payment(company: Company, public_id: str) -> Payment:
    with tenant_context(company):
        payment = selectors.payment(company=company, public_id=public_id)
    if payment is None:
        raise Http404("No such payment.")
    return services.payment_expire_if_due(payment)


@no_request_transaction
@never_cache
@csp_override(PAY_PAGE_CSP)
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, company: str, payment: str) -> HttpResponse:
    shop = _company(company)
    found = _payment(shop, payment)
    error = ""
    error_status = 200
    if request.method == "POST":
        here = request.build_absolute_uri(request.path)
        try:
            started = services.payment_start(
                payment=found,
                method=request.POST.get("method", ""),
                base_url=request.build_absolute_uri("/"),
                return_url=here,
            )
        except DomainError as failure:
            error = failure.message
            # The error's own status: 409 for a closed payment, 503 when no gateway took it.
            error_status = failure.status
        else:
            if started.attempt.checkout_url:
                return redirect(started.attempt.checkout_url)
            return redirect(here)
    with tenant_context(shop):
        found.refresh_from_db()
        attempt = selectors.current_attempt(payment=found)
        methods = selectors.methods_offered(company=shop)
    return render(
        request,
        "payments/pay.html",
        {
            "shop": shop,
            "payment": found,
            "methods": methods if found.status in OFFER_STATUSES else [],
            "attempt": attempt,
            "error": error,
        },
        status=error_status,
    )


@require_GET
def pay_qr(request: HttpRequest, company: str, payment: str) -> HttpResponse:
    """The PayNow QR of the payment's newest attempt, as SVG."""
    shop = _company(company)
    found = _payment(shop, payment)
    with tenant_context(shop):
        payload = selectors.current_qr_payload(payment=found)
    if not payload or found.status not in OPEN_STATUSES:
        raise Http404("No QR to show.")
    response = HttpResponse(paynow.render_svg(payload), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@no_request_transaction
@never_cache
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request: HttpRequest, company: str, charge: str) -> HttpResponse:
    shop = _company(company)
    with tenant_context(shop):
        found = selectors.sandbox_charge(company=shop, provider_reference=charge)
    if found is None:
        raise Http404("The sandbox has no such charge.")
    error = ""
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        try:
            status = services.sandbox_charge_settle(
                company=shop, provider_reference=charge, outcome=outcome
            )
        except DomainError as failure:
            error = failure.message
        else:
            if status < 300:
                return redirect(found.return_url)
            error = f"The shop answered the webhook with HTTP {status}; press the button again."
        with tenant_context(shop):
            found.refresh_from_db()
    return render(
        request,
        "payments/sandbox_checkout.html",
        {
            "shop": shop,
            "charge": found,
            "qr_svg_base64": base64.b64encode(
                paynow.render_svg(found.paynow_payload, scale=5).encode()
            ).decode(),
            "error": error,
            "now": timezone.now(),
            "webhook_path": reverse("payments:webhook", args=["sandbox", shop.public_id]),
        },
        status=502 if error else 200,
    )

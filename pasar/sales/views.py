"""The back office's orders, customers and promotions.

Who may do what comes from the permission table: everyone sees orders, warehouse staff ship,
sales and managers move orders along, only the owner and finance give money back (a paid
order's cancellation and a return's refund). Writes go through `pasar.sales.services`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.catalog.models import Category
from pasar.core.errors import DomainError, Forbidden
from pasar.core.tenant import tenant_context
from pasar.core.transactions import no_request_transaction
from pasar.inventory import selectors as inventory_selectors
from pasar.sales import selectors, services
from pasar.sales.models import (
    RETURNABLE_STATUSES,
    SHIPPABLE_STATUSES,
    Order,
    OrderStatus,
    Promotion,
    PromotionKind,
    PromotionScope,
    ReturnRequest,
)
from pasar.tenancy.models import User
from pasar.tenancy.permissions import acting_company, can, company_required

ORDERS_PER_PAGE = 50


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _role(request: HttpRequest) -> str:
    return request.membership.role  # type: ignore[attr-defined]


@require_GET
@company_required("order.view")
def order_list(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    status = request.GET.get("status", "")
    query = " ".join(request.GET.get("q", "").split())[:100]
    sort = request.GET.get("sort", "newest")
    problem = request.GET.get("problem") == "1"
    orders = selectors.order_list(
        company=company, status=status, query=query, sort=sort, stock_problem=problem
    )
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.order_status_counts(company=company)
    return render(
        request,
        "sales/office_order_list.html",
        {
            "page": page,
            "status": status,
            "query": query,
            "sort": sort,
            "problem": problem,
            "statuses": OrderStatus.choices,
            "tabs": [
                (value, label, counts[value])
                for value, label in OrderStatus.choices
                if counts.get(value)
            ],
            "sorts": [
                ("newest", "Newest first"),
                ("oldest", "Oldest first"),
                ("total_high", "Largest total"),
                ("total_low", "Smallest total"),
            ],
            "filtered": bool(status or query or problem),
        },
    )


def _order(request: HttpRequest, public_id: uuid.UUID) -> Order:
    found = selectors.order_get(company=acting_company(request), public_id=public_id)
    if found is None:
        raise Http404("No such order.")
    return found


def _order_page(request: HttpRequest, order: Order, *, status: int = 200) -> HttpResponse:
    company = acting_company(request)
    role = _role(request)
    lines = selectors.order_lines(company=company, order=order)
    shippable = order.status in SHIPPABLE_STATUSES and not order.stock_problem
    with tenant_context(company):
        locations = list(inventory_selectors.location_list(company=company))
    return render(
        request,
        "sales/office_order_detail.html",
        {
            "order": order,
            "lines": lines,
            "left_to_ship": [(line, line.quantity - line.quantity_shipped) for line in lines],
            "timeline": selectors.order_timeline(company=company, order=order),
            "shipments": selectors.order_shipments(company=company, order=order),
            "returns": selectors.order_returns(company=company, order=order),
            "payment": selectors.order_payment(company=company, order=order),
            "locations": locations,
            "can_manage": can(role, "order.manage"),
            "can_cancel": order.can_move_to(OrderStatus.CANCELLED)
            and not any(line.quantity_shipped for line in lines)
            and can(role, order.cancel_action),
            "can_fulfil": can(role, "order.fulfil") and shippable,
            "can_refund": can(role, "payment.refund"),
            "can_return": can(role, "return.manage"),
            "returnable": order.status in RETURNABLE_STATUSES,
        },
        status=status,
    )


@require_GET
@company_required("order.view")
def order_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    order = _order(request, public_id)
    with tenant_context(acting_company(request)):
        order = Order.objects.select_related("customer", "pickup_location").get(pk=order.pk)
    return _order_page(request, order)


def _quantities(request: HttpRequest, prefix: str) -> dict[int, int]:
    """Line quantities posted as <prefix><line id>=<units>; blanks and zeros left out."""
    found: dict[int, int] = {}
    for name, value in request.POST.dict().items():
        if not name.startswith(prefix) or not value.strip():
            continue
        try:
            key, units = int(name.removeprefix(prefix)), int(value)
        except ValueError as error:
            raise DomainError("Quantities are whole numbers.", code="invalid_quantity") from error
        if units < 0:
            raise DomainError("Quantities cannot be negative.", code="invalid_quantity")
        if units:
            found[key] = units
    return found


def _location(request: HttpRequest) -> Any:
    company = acting_company(request)
    try:
        with tenant_context(company):
            return inventory_selectors.location_get(
                company=company, public_id=request.POST.get("location", "")
            )
    except DomainError as error:
        raise DomainError("Choose a location.", code="invalid_location") from error


def _return(order: Order, request: HttpRequest) -> ReturnRequest:
    company = acting_company(request)
    wanted = request.POST.get("return", "")
    found = next(
        (
            r
            for r in selectors.order_returns(company=company, order=order)
            if str(r.public_id) == wanted
        ),
        None,
    )
    if found is None:
        raise DomainError("That return was not found.", code="not_found", status=404)
    return found


# Each action: the permission it needs, and what it does.
ACTIONS: dict[str, str] = {
    "processing": "order.manage",
    "ship": "order.fulfil",
    "delivered": "order.manage",
    "complete": "order.manage",
    "cancel": "order.manage",
    "reserve-again": "order.manage",
    "return-request": "return.manage",
    "return-approve": "return.manage",
    "return-reject": "return.manage",
    "return-receive": "return.manage",
    "return-refund": "payment.refund",
}


@no_request_transaction
@require_POST
@company_required("order.view")
def order_action(request: HttpRequest, public_id: uuid.UUID, action: str) -> HttpResponse:
    """One staff action on an order; a refusal shows the order again with the reason."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    company = acting_company(request)
    actor = _actor(request)
    order = _order(request, public_id)
    try:
        if not can(_role(request), ACTIONS[action]):
            raise Forbidden("Your role may not do that.")
        done = _act(request, order, action, company, actor)
    except DomainError as error:
        messages.error(request, error.message)
        with tenant_context(company):
            order.refresh_from_db()
        return _order_page(request, order, status=error.status)
    messages.success(request, done)
    return redirect("sales_office:order_detail", public_id=order.public_id)


def _act(request: HttpRequest, order: Order, action: str, company: Any, actor: User) -> str:
    if action == "processing":
        services.order_start_processing(company=company, order=order, actor=actor)
        return f"{order.number} is being prepared."
    if action == "ship":
        shipment = services.order_ship(
            company=company,
            order=order,
            location=_location(request),
            quantities=_quantities(request, "ship-") or None,
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
            actor=actor,
        )
        return f"{shipment.number} is recorded."
    if action == "delivered":
        services.order_mark_delivered(company=company, order=order, actor=actor)
        return f"{order.number} is delivered."
    if action == "complete":
        services.order_complete(company=company, order=order, actor=actor)
        return f"{order.number} is complete."
    if action == "cancel":
        if not can(_role(request), order.cancel_action):
            raise Forbidden(
                "This order is paid: cancelling refunds it, which only the owner or finance may do."
            )
        services.order_cancel(
            company=company, order=order, actor=actor, reason=request.POST.get("reason", "")
        )
        return f"{order.number} is cancelled."
    if action == "reserve-again":
        services.order_reserve_again(company=company, order=order, actor=actor)
        return f"The stock for {order.number} is held again."
    if action == "return-request":
        found = services.return_request(
            company=company,
            order=order,
            quantities=_quantities(request, "return-"),
            reason=request.POST.get("reason", ""),
            actor=actor,
        )
        return f"Return {found.number} is recorded."
    found = _return(order, request)
    if action == "return-approve":
        services.return_approve(
            company=company, return_request=found, location=_location(request), actor=actor
        )
        return f"Return {found.number} is approved."
    if action == "return-reject":
        services.return_reject(
            company=company,
            return_request=found,
            reason=request.POST.get("reason", ""),
            actor=actor,
        )
        return f"Return {found.number} is rejected."
    if action == "return-receive":
        dispositions = {
            int(name.removeprefix("disposition-")): value
            for name, value in request.POST.dict().items()
            if name.startswith("disposition-") and name.removeprefix("disposition-").isdigit()
        }
        services.return_receive(
            company=company, return_request=found, dispositions=dispositions, actor=actor
        )
        return f"Return {found.number} is received."
    services.return_refund(
        company=company, return_request=found, actor=actor, amount=request.POST.get("amount")
    )
    return f"Return {found.number} is refunded."


@require_GET
@company_required("customer.view")
def customer_list(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    query = " ".join(request.GET.get("q", "").split())[:100]
    page = Paginator(selectors.customer_list(company=company, query=query), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "sales/office_customer_list.html", {"page": page, "query": query})


@require_GET
@company_required("customer.view")
def customer_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One customer: contact, marketing consent, saved addresses and every order."""
    company = acting_company(request)
    with tenant_context(company):
        customer = selectors.customer_get(company=company, public_id=public_id)
        if customer is None:
            raise Http404("No such customer.")
        addresses = list(customer.addresses.all())
        orders = Paginator(selectors.customer_order_history(company=company, customer=customer), 50)
        page = orders.get_page(request.GET.get("page"))
    return render(
        request,
        "sales/office_customer_detail.html",
        {"customer": customer, "addresses": addresses, "page": page},
    )


def _promotion_saved(
    request: HttpRequest, *, promotion: Promotion | None = None
) -> tuple[Promotion | None, int]:
    """Save the promotion form (a new promotion, or `promotion` changed): the promotion, or
    None and the status to answer with the form again (the message says why)."""
    company = acting_company(request)
    data = request.POST.dict()
    try:
        saved = services.promotion_save(
            products=services.products_by_sku(company=company, skus=data.get("skus", "")),
            categories=services.categories_by_public_id(
                company=company, public_ids=request.POST.getlist("categories")
            ),
            company=company,
            actor=_actor(request),
            promotion=promotion,
            data=data,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return None, error.status
    messages.success(request, f"{saved.name} is saved.")
    return saved, 200


def _promotion_form(company: Any, data: dict[str, Any], chosen: list[str]) -> dict[str, Any]:
    with tenant_context(company):
        categories = list(Category.objects.all())
    return {
        "kinds": PromotionKind.choices,
        "scopes": [
            (PromotionScope.ORDER, "The whole order"),
            (PromotionScope.PRODUCTS, "Chosen products"),
            (PromotionScope.CATEGORIES, "Chosen categories"),
        ],
        "categories": categories,
        "data": data,
        "chosen": chosen,
    }


def _local(moment: datetime | None) -> str:
    """A time as the form's datetime-local field shows it, in Singapore time."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


@require_http_methods(["GET", "POST"])
@company_required("order.view")
def promotion_list(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    may_manage = can(_role(request), "promotion.manage")
    status = 200
    if request.method == "POST":
        if not may_manage:
            raise Forbidden("Your role may not change promotions.")
        saved, status = _promotion_saved(request)
        if saved is not None:
            return redirect("sales_office:promotion_list")
    with tenant_context(company):
        promotions = list(selectors.promotion_list(company=company))
    return render(
        request,
        "sales/office_promotion_list.html",
        {
            "promotions": promotions,
            "may_manage": may_manage,
            "now": timezone.now(),
            **_promotion_form(company, request.POST.dict(), request.POST.getlist("categories")),
        },
        status=status,
    )


def _promotion(company: Any, public_id: uuid.UUID) -> Promotion:
    with tenant_context(company):
        promotion = Promotion.objects.filter(public_id=public_id).first()
    if promotion is None:
        raise Http404("No such promotion.")
    return promotion


@require_http_methods(["GET", "POST"])
@company_required("promotion.manage")
def promotion_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Change a promotion: what it gives, on what, its conditions and limits."""
    company = acting_company(request)
    promotion = _promotion(company, public_id)
    chosen, skus = selectors.promotion_chosen(company=company, promotion=promotion)
    status = 200
    data: dict[str, Any]
    if request.method == "POST":
        saved, status = _promotion_saved(request, promotion=promotion)
        if saved is not None:
            return redirect("sales_office:promotion_list")
        data, chosen = request.POST.dict(), request.POST.getlist("categories")
    else:
        data = {
            "name": promotion.name,
            "code": promotion.code,
            "kind": promotion.kind,
            "value": f"{promotion.value.normalize():f}",
            "scope": promotion.scope,
            "min_spend": f"{promotion.min_spend.normalize():f}" if promotion.min_spend else "",
            "starts_at": _local(promotion.starts_at),
            "ends_at": _local(promotion.ends_at),
            "usage_limit": promotion.usage_limit or "",
            "per_customer_limit": promotion.per_customer_limit or "",
            "stackable": promotion.stackable,
            "skus": ", ".join(skus),
        }
    return render(
        request,
        "sales/office_promotion_edit.html",
        {"promotion": promotion, **_promotion_form(company, data, chosen)},
        status=status,
    )


@require_POST
@company_required("promotion.manage")
def promotion_switch(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Switch a promotion off, or back on."""
    company = acting_company(request)
    promotion = _promotion(company, public_id)
    active = request.POST.get("active") == "1"
    services.promotion_set_active(
        company=company, promotion=promotion, active=active, actor=_actor(request)
    )
    messages.success(request, f"{promotion} is {'on' if active else 'off'}.")
    return redirect("sales_office:promotion_list")

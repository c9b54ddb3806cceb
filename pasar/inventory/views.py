"""Location and stock pages: the onboarding location step, stock levels, a variant's movement
history with its chart, adjustments, the low stock list, and the stock documents: transfers
between locations, count sheets and goods receipts from suppliers.

Everyone may look at stock (`stock.view`); changing it needs `stock.manage` (owner, admin,
warehouse). Writes go through `pasar.inventory.services`, reads through its selectors.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.catalog import selectors as catalog_selectors
from pasar.catalog.models import Variant
from pasar.core.errors import DomainError, NotFound
from pasar.inventory import selectors, services
from pasar.inventory.forms import (
    AdjustmentForm,
    LineQuantitiesForm,
    LocationForm,
    PurchaseReceiptForm,
    ReceiptVoidForm,
    StockCountStartForm,
    TransferForm,
)
from pasar.inventory.models import (
    LOW_STOCK,
    Location,
    PurchaseReceipt,
    StockCount,
    StockCountStatus,
    StockMovement,
    Transfer,
    TransferStatus,
)
from pasar.tenancy.models import User
from pasar.tenancy.permissions import acting_company, can, company_required

LEVELS_PER_PAGE = 50
MOVEMENTS_PER_PAGE = 50
DOCUMENTS_PER_PAGE = 50
CHART_PERIODS = (30, 90, 365)  # days a movement chart can span


def _can_manage(request: HttpRequest) -> bool:
    return can(request.membership.role, "stock.manage")  # type: ignore[attr-defined]


@company_required("location.manage")
@require_http_methods(["GET", "POST"])
def onboarding_location(request: HttpRequest) -> HttpResponse:
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            location = services.location_create(
                company=acting_company(request),
                **form.cleaned_data,
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{location.name} is ready to hold stock.")
            return redirect("backoffice:home")
    return render(request, "inventory/onboarding_location.html", {"form": form})


# -- stock levels ---------------------------------------------------------------------------


def _location_filter(request: HttpRequest, locations: QuerySet[Location]) -> Location | None:
    try:
        return locations.filter(public_id=uuid.UUID(request.GET.get("location", ""))).first()
    except ValueError:
        return None


@require_GET
@company_required("stock.view")
def stock_levels(request: HttpRequest) -> HttpResponse:
    """Every variant's level at each location, filtered by location, text and low stock."""
    company = acting_company(request)
    locations = selectors.location_list(company=company)
    location = _location_filter(request, locations)
    query = request.GET.get("q", "").strip()
    low_only = request.GET.get("low") == "1"
    levels = selectors.stock_levels(company=company, location=location).select_related(
        "variant__product"
    )
    if query:
        levels = levels.filter(
            Q(variant__sku__icontains=query) | Q(variant__product__name__icontains=query)
        )
    if low_only:
        levels = levels.filter(LOW_STOCK)
    levels = levels.order_by("variant__product__name", "variant__sku", "location__name")
    page = Paginator(levels, LEVELS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/stock_levels.html",
        {
            "page": page,
            "locations": locations,
            "location": location,
            "query": query,
            "low_only": low_only,
            "filtered": bool(query or low_only or location),
        },
    )


@require_GET
@company_required("stock.view")
def low_stock(request: HttpRequest) -> HttpResponse:
    """What to reorder: levels at or below their reorder point, by location."""
    levels = selectors.low_stock_list(company=acting_company(request))
    return render(
        request,
        "inventory/low_stock.html",
        {"levels": list(levels)},
    )


# -- one variant's history ------------------------------------------------------------------


@dataclass(frozen=True)
class ChartTick:
    position: float
    label: str


@dataclass(frozen=True)
class OnHandChart:
    """An on-hand-over-time step chart, as SVG coordinates the template draws.

    Drawn here rather than by a script so it needs no JavaScript and no inline styles: the
    template sets only SVG geometry attributes and classes, which the CSP allows.
    """

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    line: str
    area: str
    y_ticks: list[ChartTick]
    x_ticks: list[ChartTick]
    reorder_y: float | None
    start_units: int
    end_units: int
    lowest_units: int
    highest_units: int
    days: int


CHART_WIDTH, CHART_HEIGHT = 480, 200
CHART_MARGIN = {"left": 48, "right": 10, "top": 10, "bottom": 26}


def _nice_ceiling(value: int) -> int:
    """The next round number at or above `value`, for the top of the axis (1, 2, 5 x 10^n)."""
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def on_hand_chart(
    *,
    now_units: int,
    movements: list[StockMovement],
    start: datetime,
    end: datetime,
    reorder_point: int = 0,
) -> OnHandChart:
    """The chart of on hand from `start` to `end`, given the units on hand at `end` and the
    movements in between (oldest first): walking back from today's figure, every step of the
    line is one movement."""
    before = now_units - sum(movement.quantity for movement in movements)
    points = [(start, before)]
    units = before
    for movement in movements:
        units += movement.quantity
        points.append((movement.created_at, units))
    values = [value for _, value in points]
    top_units = _nice_ceiling(max([*values, reorder_point, 1]))
    left, right = CHART_MARGIN["left"], CHART_WIDTH - CHART_MARGIN["right"]
    top, bottom = CHART_MARGIN["top"], CHART_HEIGHT - CHART_MARGIN["bottom"]
    span = (end - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        return round(left + (right - left) * (moment - start).total_seconds() / span, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - top) * value / top_units, 1)

    steps = [f"M{x(start)},{y(before)}"]
    for moment, value in points[1:]:
        steps.append(f"H{x(moment)}V{y(value)}")
    steps.append(f"H{right}")
    line = "".join(steps)
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    middle = local_start + (local_end - local_start) / 2
    return OnHandChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        line=line,
        area=f"{line}V{bottom}H{left}Z",
        y_ticks=[ChartTick(y(value), str(value)) for value in (0, top_units // 2, top_units)],
        x_ticks=[
            ChartTick(x(moment), f"{moment:%-d %b}") for moment in (local_start, middle, local_end)
        ],
        reorder_y=y(reorder_point) if reorder_point else None,
        start_units=before,
        end_units=now_units,
        lowest_units=min(values),
        highest_units=max(values),
        days=(end - start).days,
    )


# Where each kind of stock document is shown, for links from the movement history.
SOURCE_PAGES = {
    "purchase_receipt": "inventory:receipt_detail",
    "transfer": "inventory:transfer_detail",
    "stock_count": "inventory:count_detail",
}


def _history_page(
    request: HttpRequest, variant: Variant, *, form: AdjustmentForm | None = None, status: int = 200
) -> HttpResponse:
    company = acting_company(request)
    locations = selectors.location_list(company=company)
    location = _location_filter(request, locations)
    try:
        days = int(request.GET.get("days", CHART_PERIODS[0]))
    except ValueError:
        days = CHART_PERIODS[0]
    if days not in CHART_PERIODS:
        days = CHART_PERIODS[0]
    levels = list(selectors.stock_levels(company=company, variant=variant))
    shown_levels = [level for level in levels if location is None or level.location == location]
    history = selectors.movement_history(company=company, variant=variant, location=location)
    end = timezone.now()
    start = end - timedelta(days=days)
    chart = on_hand_chart(
        now_units=sum(level.on_hand for level in shown_levels),
        movements=list(history.filter(created_at__gt=start).order_by("created_at", "id")),
        start=start,
        end=end,
        reorder_point=sum(level.reorder_point for level in shown_levels),
    )
    page = Paginator(history, MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = movements = list(page.object_list)
    numbers = selectors.movement_source_numbers(company=company, movements=movements)
    for movement in movements:
        key = (movement.source_type, movement.source_id)
        movement.source_number = numbers.get(key, "")  # type: ignore[attr-defined]
        movement.source_url = (  # type: ignore[attr-defined]
            reverse(SOURCE_PAGES[key[0]], args=[key[1]]) if key in numbers else ""
        )
    totals = {
        "on_hand": sum(level.on_hand for level in shown_levels),
        "available": sum(level.available_now for level in shown_levels),  # type: ignore[attr-defined]
    }
    return render(
        request,
        "inventory/movement_history.html",
        {
            "variant": variant,
            "levels": levels,
            "totals": totals,
            "locations": locations,
            "location": location,
            "chart": chart,
            "periods": CHART_PERIODS,
            "days": days,
            "page": page,
            "can_manage": _can_manage(request),
            "form": form or AdjustmentForm(locations=locations, initial={"location": location}),
        },
        status=status,
    )


def _variant(request: HttpRequest, public_id: uuid.UUID) -> Variant:
    return get_object_or_404(
        catalog_selectors.variant_list(company=acting_company(request)),
        public_id=public_id,
    )


@require_GET
@company_required("stock.view")
def movement_history(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _history_page(request, _variant(request, public_id))


@require_POST
@company_required("stock.manage")
def stock_adjust(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    variant = _variant(request, public_id)
    company = acting_company(request)
    form = AdjustmentForm(request.POST, locations=selectors.location_list(company=company))
    if form.is_valid():
        try:
            movement = services.stock_adjust(
                company=company,
                variant=variant,
                location=form.cleaned_data["location"],
                quantity=form.cleaned_data["quantity"],
                reason=form.cleaned_data["reason"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            change = "added to" if movement.quantity > 0 else "written off at"
            messages.success(
                request,
                f"{abs(movement.quantity)} unit(s) of {variant.sku} {change} "
                f"{form.cleaned_data['location'].name}.",
            )
            return redirect("inventory:movement_history", public_id=variant.public_id)
    return _history_page(request, variant, form=form, status=400)


# -- stock documents: transfers, count sheets, goods receipts ---------------------------------


def _document[D](get: Callable[..., D], request: HttpRequest, public_id: uuid.UUID) -> D:
    """A document of the active company by its public id, or the 404 page."""
    try:
        return get(company=acting_company(request), public_id=public_id)
    except NotFound as error:
        raise Http404(error.message) from error


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# Transfers


@require_GET
@company_required("stock.view")
def transfer_list(request: HttpRequest) -> HttpResponse:
    """Transfers newest first, filtered by status; those on the road stand out."""
    status = request.GET.get("status", "")
    if status not in TransferStatus.values:
        status = ""
    transfers = selectors.transfer_list(company=acting_company(request), status=status or None)
    page = Paginator(transfers, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/transfer_list.html",
        {
            "page": page,
            "status": status,
            "statuses": TransferStatus.choices,
            "in_transit": selectors.IN_TRANSIT,
            "can_manage": _can_manage(request),
        },
    )


@require_http_methods(["GET", "POST"])
@company_required("stock.manage")
def transfer_new(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    form = TransferForm(request.POST or None, locations=selectors.location_list(company=company))
    if request.method == "POST" and form.is_valid():
        try:
            transfer = services.transfer_create(
                company=company,
                source=form.cleaned_data["source"],
                destination=form.cleaned_data["destination"],
                lines=form.line_values(),
                note=form.cleaned_data["note"],
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{transfer.number} is drafted; dispatch it when it ships.")
            return redirect("inventory:transfer_detail", public_id=transfer.public_id)
    return render(
        request,
        "inventory/transfer_new.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


def _receive_form(transfer: Transfer, data: QueryDict | None = None) -> LineQuantitiesForm:
    return LineQuantitiesForm(
        data,
        skus=[line.variant.sku for line in transfer.lines.all()],
        label="Units arrived",
    )


@dataclass(frozen=True)
class Confirmation:
    """A dangerous action asked about before it is done: what it does, and the button that
    posts it again with `confirmed=yes`."""

    action_url: str
    back_url: str
    question: str
    consequence: str
    button: str
    fields: tuple[tuple[str, str], ...] = ()


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


def _transfer_page(
    request: HttpRequest,
    transfer: Transfer,
    *,
    receive_form: LineQuantitiesForm | None = None,
    error: DomainError | None = None,
    confirmation: Confirmation | None = None,
) -> HttpResponse:
    form = receive_form or _receive_form(transfer)
    return render(
        request,
        "inventory/transfer_detail.html",
        {
            "transfer": transfer,
            "lines": list(zip(transfer.lines.all(), form, strict=True)),
            "receive_form": form,
            "error": error,
            "confirmation": confirmation,
            "can_manage": _can_manage(request),
            "can_dispatch": transfer.status == TransferStatus.DRAFT,
            "can_receive": transfer.status in selectors.IN_TRANSIT,
        },
        status=error.status if error else (400 if form.is_bound else 200),
    )


def _transfer(request: HttpRequest, public_id: uuid.UUID) -> Transfer:
    return _document(selectors.transfer_get, request, public_id)


@require_GET
@company_required("stock.view")
def transfer_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _transfer_page(request, _transfer(request, public_id))


@require_POST
@company_required("stock.manage")
def transfer_dispatch(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    transfer = _transfer(request, public_id)
    if not _confirmed(request):
        units = sum(line.quantity for line in transfer.lines.all())
        return _transfer_page(
            request,
            transfer,
            confirmation=Confirmation(
                action_url=request.path,
                back_url=reverse("inventory:transfer_detail", args=[transfer.public_id]),
                question=f"Dispatch {transfer.number}?",
                consequence=f"{units} unit(s) leave {transfer.source.name}'s stock now and count "
                f"at {transfer.destination.name} as they are received. It can no longer be "
                "cancelled.",
                button="Yes, dispatch",
            ),
        )
    try:
        services.transfer_dispatch(transfer=transfer, actor=_actor(request))
    except DomainError as error:
        return _transfer_page(request, transfer, error=error)
    messages.success(request, f"{transfer.number} is on its way to {transfer.destination.name}.")
    return redirect("inventory:transfer_detail", public_id=transfer.public_id)


@require_POST
@company_required("stock.manage")
def transfer_receive(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    transfer = _transfer(request, public_id)
    form = _receive_form(transfer, request.POST)
    if form.is_valid():
        try:
            received = services.transfer_receive(
                transfer=transfer, quantities=form.quantities(), actor=_actor(request)
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                f"{received.number}: goods recorded at {received.destination.name} "
                f"({received.get_status_display().lower()}).",
            )
            return redirect("inventory:transfer_detail", public_id=transfer.public_id)
    return _transfer_page(request, transfer, receive_form=form)


@require_POST
@company_required("stock.manage")
def transfer_cancel(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    transfer = _transfer(request, public_id)
    if not _confirmed(request):
        return _transfer_page(
            request,
            transfer,
            confirmation=Confirmation(
                action_url=request.path,
                back_url=reverse("inventory:transfer_detail", args=[transfer.public_id]),
                question=f"Cancel {transfer.number}?",
                consequence="No stock moves, and a cancelled transfer cannot be reopened.",
                button="Yes, cancel the transfer",
            ),
        )
    try:
        services.transfer_cancel(transfer=transfer, actor=_actor(request))
    except DomainError as error:
        return _transfer_page(request, transfer, error=error)
    messages.success(request, f"{transfer.number} is cancelled; no stock moved.")
    return redirect("inventory:transfer_detail", public_id=transfer.public_id)


# Count sheets


@require_GET
@company_required("stock.view")
def count_list(request: HttpRequest) -> HttpResponse:
    counts = selectors.stock_count_list(company=acting_company(request))
    page = Paginator(counts, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/count_list.html",
        {"page": page, "can_manage": _can_manage(request)},
    )


@require_http_methods(["GET", "POST"])
@company_required("stock.manage")
def count_new(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    form = StockCountStartForm(
        request.POST or None, locations=selectors.location_list(company=company)
    )
    if request.method == "POST" and form.is_valid():
        try:
            count = services.count_start(
                company=company,
                location=form.cleaned_data["location"],
                skus=form.cleaned_data["skus"],
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{count.number} is ready; enter what you count.")
            return redirect("inventory:count_detail", public_id=count.public_id)
    return render(
        request,
        "inventory/count_new.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


def _sheet_form(count: StockCount, data: QueryDict | None = None) -> LineQuantitiesForm:
    lines = list(count.lines.all())
    return LineQuantitiesForm(
        data,
        skus=[line.variant.sku for line in lines],
        label="Counted",
        initial={f"line_{row}": line.counted for row, line in enumerate(lines)},
    )


def _count_page(
    request: HttpRequest,
    count: StockCount,
    *,
    sheet_form: LineQuantitiesForm | None = None,
    error: DomainError | None = None,
    confirmation: Confirmation | None = None,
) -> HttpResponse:
    form = sheet_form or _sheet_form(count)
    return render(
        request,
        "inventory/count_detail.html",
        {
            "count": count,
            "lines": list(zip(count.lines.all(), form, strict=True)),
            "sheet_form": form,
            "error": error,
            "confirmation": confirmation,
            "can_manage": _can_manage(request),
            "is_open": count.status == StockCountStatus.OPEN,
        },
        status=error.status if error else (400 if form.is_bound and form.errors else 200),
    )


def _count(request: HttpRequest, public_id: uuid.UUID) -> StockCount:
    return _document(selectors.stock_count_get, request, public_id)


@require_GET
@company_required("stock.view")
def count_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _count_page(request, _count(request, public_id))


@require_POST
@company_required("stock.manage")
def count_record(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Save the counted figures; with "post", post the variances right after."""
    count = _count(request, public_id)
    form = _sheet_form(count, request.POST)
    posting = request.POST.get("action") == "post"
    if form.is_valid():
        quantities = form.quantities()
        try:
            # Saved counts stay saved when posting is refused, so nobody counts twice.
            if quantities or not posting:
                services.count_record(count=count, quantities=quantities, actor=_actor(request))
            if posting and not _confirmed(request):
                # The counts are saved; posting changes on-hand stock, so it is asked first.
                return _count_page(
                    request,
                    _count(request, public_id),
                    confirmation=Confirmation(
                        action_url=request.path,
                        back_url=reverse("inventory:count_detail", args=[count.public_id]),
                        question=f"Post {count.number}?",
                        consequence="On-hand stock at "
                        f"{count.location.name} becomes what was counted, and every difference "
                        "is recorded as a count correction. A posted count cannot be changed.",
                        button="Yes, post the count",
                        fields=(("action", "post"),),
                    ),
                )
            if posting:
                services.count_post(count=count, actor=_actor(request))
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                f"{count.number} is posted; on hand now matches the count."
                if posting
                else f"Counts saved on {count.number}.",
            )
            return redirect("inventory:count_detail", public_id=count.public_id)
    return _count_page(request, _count(request, public_id), sheet_form=form)


@require_POST
@company_required("stock.manage")
def count_cancel(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    count = _count(request, public_id)
    if not _confirmed(request):
        return _count_page(
            request,
            count,
            confirmation=Confirmation(
                action_url=request.path,
                back_url=reverse("inventory:count_detail", args=[count.public_id]),
                question=f"Cancel {count.number}?",
                consequence="Nothing is posted and the counted figures are set aside.",
                button="Yes, cancel the count",
            ),
        )
    try:
        services.count_cancel(count=count, actor=_actor(request))
    except DomainError as error:
        return _count_page(request, count, error=error)
    messages.success(request, f"{count.number} is cancelled; nothing was posted.")
    return redirect("inventory:count_detail", public_id=count.public_id)


# Goods receipts


@require_GET
@company_required("stock.view")
def receipt_list(request: HttpRequest) -> HttpResponse:
    receipts = selectors.purchase_receipt_list(company=acting_company(request))
    page = Paginator(receipts, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/receipt_list.html",
        {"page": page, "can_manage": _can_manage(request)},
    )


@require_http_methods(["GET", "POST"])
@company_required("stock.manage")
def receipt_new(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    form = PurchaseReceiptForm(
        request.POST or None, locations=selectors.location_list(company=company)
    )
    if request.method == "POST" and form.is_valid():
        try:
            receipt = services.purchase_receipt_create(
                company=company,
                location=form.cleaned_data["location"],
                supplier_name=form.cleaned_data["supplier_name"],
                reference=form.cleaned_data["reference"],
                lines=form.line_values(),
                actor=_actor(request),
                second_delivery=form.cleaned_data["second_delivery"],
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, f"{receipt.number}: the goods are on hand at {receipt.location.name}."
            )
            return redirect("inventory:receipt_detail", public_id=receipt.public_id)
    return render(
        request,
        "inventory/receipt_new.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@require_GET
@company_required("stock.view")
def receipt_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    receipt = _document(selectors.purchase_receipt_get, request, public_id)
    return _receipt_page(request, receipt, ReceiptVoidForm())


def _receipt_page(
    request: HttpRequest, receipt: PurchaseReceipt, void_form: ReceiptVoidForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "inventory/receipt_detail.html",
        {
            "receipt": receipt,
            "void_form": void_form,
            "can_void": can(request.membership.role, "stock.manage"),  # type: ignore[attr-defined]
        },
        status=status,
    )


@require_POST
@company_required("stock.manage")
def receipt_void(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    receipt = _document(selectors.purchase_receipt_get, request, public_id)
    form = ReceiptVoidForm(request.POST)
    if form.is_valid():
        try:
            services.purchase_receipt_void(
                company=acting_company(request),
                receipt=receipt,
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{receipt.number} is voided; its units are taken back out.")
            return redirect("inventory:receipt_detail", public_id=receipt.public_id)
    return _receipt_page(request, receipt, form, status=400)

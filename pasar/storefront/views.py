"""The public shop: catalogue, cart, checkout, payment and the shopper's account.

A shop is found by its address (/s/<shop-slug>/) or by its own domain (the Host header,
pasar.storefront.middleware). Views read through selectors and change things through the
sales services; the cart lives in the session until the shopper signs in.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.catalog import selectors as catalog_selectors
from pasar.catalog.models import Category
from pasar.core.errors import DomainError
from pasar.core.money import AmountError, parse_money
from pasar.core.observability import client_ip
from pasar.core.security import next_url
from pasar.core.tenant import tenant_context
from pasar.payments.models import OFFER_STATUSES
from pasar.sales import selectors as sales_selectors
from pasar.sales import services as sales_services
from pasar.sales.models import Cart, Customer, Order, OrderStatus
from pasar.storefront import selectors
from pasar.tenancy import selectors as tenancy_selectors
from pasar.tenancy import services as tenancy_services
from pasar.tenancy.models import Company, Shopper

PAY_METHODS = ("paynow", "card")


# -- the shop, the shopper and the cart ----------------------------------------------------------


def shop_of(request: HttpRequest, shop_slug: str | None = None) -> Company:
    shop = getattr(request, "shop", None) or (
        tenancy_selectors.company_by_shop_slug(slug=shop_slug) if shop_slug else None
    )
    if shop is None:
        raise Http404("No such shop.")
    request.shop = shop  # type: ignore[attr-defined]
    return shop


def shop_url(request: HttpRequest, name: str, *args: Any) -> str:
    """A URL within the shop, on its own domain or under /s/<slug>/."""
    shop: Company = request.shop  # type: ignore[attr-defined]
    if getattr(request, "on_shop_domain", False):
        return reverse(f"shop_domain:{name}", args=args)
    return reverse(f"storefront:{name}", args=[shop.shop_slug, *args])


def _key(shop: Company, what: str) -> str:
    return f"shop:{shop.pk}:{what}"


def _once_per_request[T](request: HttpRequest, key: tuple[Any, ...], read: Callable[[], T]) -> T:
    """`read()` the first time a request asks for `key`; the same answer after that (a page
    asks who is signed in for its header, its cart and its form)."""
    memo: dict[tuple[Any, ...], Any] = request.__dict__.setdefault("_storefront_memo", {})
    if key not in memo:
        memo[key] = read()
    return cast(T, memo[key])


def signed_in(request: HttpRequest, shop: Company) -> Shopper | None:
    shopper_id = request.session.get(_key(shop, "shopper"))
    if not shopper_id:
        return None

    def read() -> Shopper | None:
        with tenant_context(shop):
            return Shopper.objects.filter(pk=shopper_id).first()

    return _once_per_request(request, ("shopper", shopper_id), read)


def _customer(request: HttpRequest, shop: Company) -> Customer | None:
    shopper = signed_in(request, shop)
    if shopper is None:
        return None
    return _once_per_request(
        request,
        ("customer", shopper.pk),
        lambda: sales_services.customer_for_shopper(company=shop, shopper=shopper),
    )


def current_cart(request: HttpRequest, shop: Company, *, create: bool = False) -> Cart | None:
    customer = _customer(request, shop)
    kept = request.session.get(_key(shop, "cart"))
    cart = sales_services.cart_find(company=shop, customer=customer, public_id=kept)
    if cart is None and create:
        cart = sales_services.cart_open(company=shop, customer=customer)
    if cart is not None and customer is None and kept != str(cart.public_id):
        # Written only when it changes: a session saved on every page is a write per page.
        request.session[_key(shop, "cart")] = str(cart.public_id)
    return cart


def shop_categories(request: HttpRequest, shop: Company) -> list[Category]:
    return _kept(_shop_key(request, shop, "categories"), lambda: selectors.categories(shop=shop))


def _shopper_parts(request: HttpRequest, shop: Company) -> dict[str, Any]:
    """What the header shows of this shopper: whether they are signed in, their cart's size."""
    shopper = signed_in(request, shop)
    units = sales_selectors.open_cart_units(
        company=shop,
        shopper_id=shopper.pk if shopper else None,
        cart_public_id=request.session.get(_key(shop, "cart")),
    )
    return {"shopper": shopper, "cart_count": units, "home_url": shop_url(request, "home")}


def _context(request: HttpRequest, shop: Company, **extra: Any) -> dict[str, Any]:
    # A page being kept is the page as a stranger sees it: the shopper's parts go in later.
    keeping = getattr(request, KEEPING, False)
    shopper = (
        {"csp_nonce": NONCE_MARK, "shopper": None, "cart_count": 0}
        if keeping
        else _shopper_parts(request, shop)
    )
    return {
        **shopper,
        "shop": shop,
        "categories": extra.pop("categories", None) or shop_categories(request, shop),
        "home_url": shop_url(request, "home"),
        **extra,
    }


def _canonical(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


# -- catalogue -----------------------------------------------------------------------------------

CSRF_MARK = "<!--csrf-->"


def _kept[T](key: str, make: Callable[[], T]) -> T:
    """What `make` gives, kept in the cache for STOREFRONT_CACHE_SECONDS: a busy shop renders
    a grid or a product once every few seconds, not once a request. The cache is optional:
    without it (or with Redis down) every request renders afresh."""
    if settings.STOREFRONT_CACHE_SECONDS <= 0:
        return make()
    found = _cache_get(key)
    if found is None:
        found = make()
        _cache_set(key, found)
    return cast(T, found)


# A cache outage slows the shop, never breaks it: a failed read finds nothing, a failed write
# keeps nothing.
def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        return None


def _cache_set(key: str, value: Any) -> None:
    with contextlib.suppress(Exception):
        cache.set(key, value, settings.STOREFRONT_CACHE_SECONDS)


def csrf_input(request: HttpRequest) -> str:
    return format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )


NONCE_MARK = "pasar-csp-nonce-mark"
KEEPING = "_storefront_keeping"


SHOPPER_PART = re.compile(r"<!--shopper-->.*?<!--/shopper-->", re.DOTALL)


def _has_messages(request: HttpRequest) -> bool:
    """Whether a message waits to be shown (in its cookie, or in the session it overflowed to)."""
    if CookieStorage.cookie_name in request.COOKIES:
        return True
    return settings.SESSION_COOKIE_NAME in request.COOKIES and bool(
        request.session.get(SessionStorage.session_key)
    )


def kept_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A catalogue page kept whole for STOREFRONT_CACHE_SECONDS, as a stranger sees it, and
    served without rendering: with this request's CSP nonce and form token put in and, for a
    shopper with a session, their own header (signed in or not, their cart's size). A page
    with a message waiting is rendered."""

    @functools.wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.STOREFRONT_CACHE_SECONDS <= 0 or _has_messages(request):
            return view(request, *args, **kwargs)
        key = (
            "storefront:page:"
            + hashlib.sha256(f"{request.get_host()}|{request.get_full_path()}".encode()).hexdigest()
        )
        kept = cast("tuple[str, str] | None", _cache_get(key))
        if kept is None:
            setattr(request, KEEPING, True)
            response = view(request, *args, **kwargs)
            if response.status_code != 200 or response.streaming:
                return response
            kept = (response.content.decode(), response["Content-Type"])
            _cache_set(key, kept)
        html, content_type = kept
        html = html.replace(NONCE_MARK, str(get_nonce(request)))
        if CSRF_MARK in html:
            html = html.replace(CSRF_MARK, csrf_input(request))
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            shop = shop_of(request, kwargs.get("shop_slug"))
            mine = render_to_string("storefront/_shopper_links.html", _shopper_parts(request, shop))
            html = SHOPPER_PART.sub(lambda _: f"<!--shopper-->{mine}<!--/shopper-->", html, 1)
        return HttpResponse(html, content_type=content_type)

    return page


def _shop_key(request: HttpRequest, shop: Company, *parts: object) -> str:
    domain = "domain" if getattr(request, "on_shop_domain", False) else "path"
    text = "|".join(str(part) for part in (shop.pk, shop.shop_slug, domain, *parts))
    return "storefront:" + hashlib.sha256(text.encode()).hexdigest()


def _filters(request: HttpRequest) -> selectors.Filters:
    def money(name: str) -> Decimal | None:
        text = request.GET.get(name, "").strip()
        if not text:
            return None
        try:
            return parse_money(text, maximum=Decimal(10_000_000))
        except AmountError:
            return None

    sort = request.GET.get("sort", "popular")
    return selectors.Filters(
        query=" ".join(request.GET.get("q", "").split())[:100],
        min_price=money("min"),
        max_price=money("max"),
        in_stock=request.GET.get("in_stock") == "1",
        sort=sort if sort in selectors.SORTS else "popular",
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _listing_page(
    request: HttpRequest,
    shop: Company,
    *,
    template: str,
    filters: selectors.Filters,
    every: list[Category],
    **extra: Any,
) -> HttpResponse:
    page = _page_number(request)
    query = request.GET.copy()
    query.pop("page", None)

    def grid() -> tuple[str, int]:
        found = selectors.listing(shop=shop, filters=filters, page=page)
        html = render_to_string(
            "storefront/_listing.html",
            {
                "listing": found,
                "filters": filters,
                "home_url": shop_url(request, "home"),
                "query_without_page": query.urlencode(),
            },
        )
        return html, found.page.paginator.count

    grid_html, count = _kept(
        _shop_key(request, shop, "grid", filters, page, query.urlencode()), grid
    )
    return render(
        request,
        template,
        _context(
            request,
            shop,
            categories=every,
            grid_html=mark_safe(grid_html),  # noqa: S308 - rendered by our own template
            product_count=count,
            filters=filters,
            sorts=[
                ("popular", "Featured"),
                ("newest", "Newest"),
                ("price_low", "Price: low to high"),
                ("price_high", "Price: high to low"),
                ("name", "Name"),
            ],
            **extra,
        ),
    )


@require_GET
@kept_page
def home(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    every = shop_categories(request, shop)
    return _listing_page(
        request,
        shop,
        template="storefront/home.html",
        filters=_filters(request),
        every=every,
        canonical=_canonical(request, shop_url(request, "home")),
        top_categories=[c for c in every if c.parent_id is None],
    )


@require_GET
@kept_page
def search(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    filters = _filters(request)
    return _listing_page(
        request,
        shop,
        template="storefront/listing.html",
        filters=filters,
        every=shop_categories(request, shop),
        heading=f"Results for “{filters.query}”" if filters.query else "All products",
        canonical=_canonical(request, shop_url(request, "search")),
        robots="noindex, follow",
    )


@require_GET
@kept_page
def category(
    request: HttpRequest, category_slug: str, shop_slug: str | None = None
) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    every = shop_categories(request, shop)
    found = next((c for c in every if c.slug == category_slug), None)
    if found is None:
        raise Http404("No such category.")
    filters = _filters(request)
    filters.category_ids = selectors.subtree_ids(found, every)
    by_id = {c.pk: c for c in every}
    trail: list[Category] = []
    node: Category | None = found
    while node is not None:
        trail.insert(0, node)
        node = by_id.get(node.parent_id) if node.parent_id else None
    return _listing_page(
        request,
        shop,
        template="storefront/listing.html",
        filters=filters,
        every=every,
        heading=found.name,
        category=found,
        trail=trail,
        subcategories=[c for c in every if c.parent_id == found.pk],
        canonical=_canonical(request, shop_url(request, "category", found.slug)),
    )


@require_GET
@kept_page
def product(
    request: HttpRequest, public_id: UUID, slug: str = "", shop_slug: str | None = None
) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    page = _kept(
        _shop_key(request, shop, "product", public_id),
        lambda: _product_body(request, shop, public_id),
    )
    if page is None:
        raise Http404("This product is not on sale.")
    if slug != page["slug"]:
        return redirect(page["canonical_path"], permanent=True)
    body = page["body"]
    if not getattr(request, KEEPING, False):
        body = body.replace(CSRF_MARK, csrf_input(request))
    return render(
        request,
        "storefront/product.html",
        _context(
            request,
            shop,
            categories=shop_categories(request, shop),
            page=page,
            body=mark_safe(body),  # noqa: S308 - rendered by our own template
            canonical=page["canonical"],
        ),
    )


def _product_body(request: HttpRequest, shop: Company, public_id: UUID) -> dict[str, Any] | None:
    """Everything of a product page but the shopper's own parts (header, cart, CSRF token)."""
    found = selectors.product(shop=shop, public_id=public_id)
    if found is None:
        return None
    slug = slugify(found.product.name)
    canonical_path = shop_url(request, "product", found.product.public_id, slug)
    absolute = _canonical(request, canonical_path)
    image_urls = [
        request.build_absolute_uri(shop_url(request, "image", image.public_id, "large"))
        for image in found.images
    ]
    structured = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": found.product.name,
        "description": found.product.description[:500],
        "sku": found.choices[0].variant.sku,
        "url": absolute,
        "image": image_urls,
        "offers": [
            {
                "@type": "Offer",
                "sku": choice.variant.sku,
                "price": str(choice.price),
                "priceCurrency": "SGD",
                "availability": "https://schema.org/"
                + ("InStock" if choice.sellable else "OutOfStock"),
                "url": absolute,
            }
            for choice in found.choices
        ],
    }
    if found.choices[0].variant.barcode:
        structured["gtin13"] = found.choices[0].variant.barcode
    home = shop_url(request, "home")
    body = render_to_string(
        "storefront/_product_body.html",
        {"view": found, "shop": shop, "home_url": home, "csrf_mark": mark_safe(CSRF_MARK)},  # noqa: S308
    )
    return {
        "slug": slug,
        "canonical_path": canonical_path,
        "canonical": absolute,
        "name": found.product.name,
        "description": found.product.description,
        "min_price": str(found.min_price),
        "og_image": image_urls[0] if image_urls else "",
        "structured_data": json.dumps(structured, ensure_ascii=False).replace("</", "<\\/"),
        "body": body,
    }


@require_GET
def image(
    request: HttpRequest, public_id: UUID, size: str, shop_slug: str | None = None
) -> FileResponse:
    shop = shop_of(request, shop_slug)
    if size not in ("small", "large"):
        raise Http404("No such picture.")
    with tenant_context(shop):
        found = catalog_selectors.image_file(company=shop, public_id=public_id, size=size)
    if found is None:
        raise Http404("No such picture.")
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    patch_cache_control(response, public=True, max_age=86400)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- cart ----------------------------------------------------------------------------------------


def _error_message(error: DomainError) -> str:
    fields = [d.get("message") for d in error.details if isinstance(d, dict) and "field" in d]
    return " ".join([error.message, *[f for f in fields if f]]) if fields else error.message


@never_cache
@require_http_methods(["GET", "POST"])
def cart(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            found = current_cart(request, shop, create=True)
            assert found is not None
            if action == "add":
                sales_services.cart_add(
                    company=shop,
                    cart=found,
                    variant_id=request.POST.get("variant", ""),
                    quantity=request.POST.get("quantity", "1"),
                )
                messages.success(request, "Added to your cart.")
            elif action == "update":
                sales_services.cart_set_quantity(
                    company=shop,
                    cart=found,
                    variant_id=request.POST.get("variant", ""),
                    quantity=request.POST.get("quantity", "0"),
                )
            elif action == "remove":
                sales_services.cart_set_quantity(
                    company=shop, cart=found, variant_id=request.POST.get("variant", ""), quantity=0
                )
            elif action == "code":
                code = sales_services.cart_apply_code(
                    company=shop, cart=found, code=request.POST.get("code", "")
                )
                messages.success(request, f"{code} is applied.")
            elif action == "remove_code":
                sales_services.cart_remove_code(
                    company=shop, cart=found, code=request.POST.get("code", "")
                )
            elif action == "accept_prices":
                sales_services.cart_accept_prices(company=shop, cart=found)
            else:
                raise DomainError("Choose what to do with the cart.", code="unknown_action")
        except DomainError as error:
            messages.error(request, _error_message(error))
            status = error.status
        else:
            return redirect(next_url(request) or shop_url(request, "cart"))
    found = current_cart(request, shop)
    figures = sales_services.cart_figures(company=shop, cart=found) if found else None
    return render(
        request,
        "storefront/cart.html",
        _context(request, shop, figures=figures, robots="noindex"),
        status=status,
    )


# -- checkout ------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    """Step 1 and 2: who and where, then how it comes."""
    shop = shop_of(request, shop_slug)
    found = current_cart(request, shop)
    if found is None or sales_selectors.cart_item_count(company=shop, cart=found) == 0:
        return redirect(shop_url(request, "cart"))
    errors: dict[str, str] = {}
    customer = _customer(request, shop)
    data = sales_services.checkout_details(
        cart=found,
        customer=customer,
        addresses=sales_selectors.addresses(company=shop, customer=customer) if customer else [],
    )
    status = 200
    if request.method == "POST":
        data = request.POST.dict()
        try:
            sales_services.cart_set_details(company=shop, cart=found, data=data)
        except DomainError as error:
            errors = {d["field"]: d["message"] for d in error.details if "field" in d}
            messages.error(request, error.message)
            status = error.status
        else:
            return redirect(shop_url(request, "review"))
    return render(
        request,
        "storefront/checkout.html",
        _context(
            request,
            shop,
            data=data,
            errors=errors,
            deliveries=selectors.delivery_methods(shop=shop),
            figures=sales_services.cart_figures(company=shop, cart=found),
            robots="noindex",
            notice_version=sales_services.PRIVACY_NOTICE_VERSION,
        ),
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    """Step 3: the total, then "Place order and pay"."""
    shop = shop_of(request, shop_slug)
    found = current_cart(request, shop)
    if found is None:
        return redirect(shop_url(request, "cart"))
    status = 200
    if request.method == "POST":
        method = request.POST.get("method", "paynow")
        try:
            order = sales_services.order_place(
                company=shop,
                cart=found,
                expected_total=request.POST.get("expected_total"),
                shopper=signed_in(request, shop),
            )
        except sales_services.PriceChanged as error:
            sales_services.cart_accept_prices(company=shop, cart=found)
            messages.warning(request, error.message)
            status = error.status
        except DomainError as error:
            messages.error(request, _error_message(error))
            status = error.status
        else:
            _remember_order(request, shop, order)
            return _start_payment(request, shop, order, method)
    figures = sales_services.cart_figures(company=shop, cart=found)
    if figures.is_empty:
        return redirect(shop_url(request, "cart"))
    return render(
        request,
        "storefront/review.html",
        _context(
            request,
            shop,
            figures=figures,
            methods=sales_selectors.pay_methods(company=shop),
            robots="noindex",
        ),
        status=status,
    )


def _remember_order(request: HttpRequest, shop: Company, order: Order) -> None:
    """The orders this browser placed: a guest sees its own orders and no others."""
    key = _key(shop, "orders")
    kept = [str(order.public_id), *request.session.get(key, [])]
    request.session[key] = list(dict.fromkeys(kept))[:20]


def _start_payment(request: HttpRequest, shop: Company, order: Order, method: str) -> HttpResponse:
    order_page = shop_url(request, "order", order.public_id)
    if order.payment_id is None:
        return redirect(order_page)
    try:
        started = sales_services.order_payment_start(
            company=shop,
            order=order,
            method=method if method in PAY_METHODS else "paynow",
            base_url=request.build_absolute_uri("/"),
            return_url=request.build_absolute_uri(order_page),
        )
    except DomainError as error:
        messages.error(request, f"{error.message} Your order is saved: you can pay from its page.")
        return redirect(order_page)
    if started.attempt.checkout_url:
        return redirect(started.attempt.checkout_url)
    return redirect(order_page)


def _visible_order(request: HttpRequest, shop: Company, public_id: UUID) -> Order:
    order = sales_selectors.order_for_shop_page(company=shop, public_id=public_id)
    if order is None:
        raise Http404("No such order.")
    mine = str(public_id) in request.session.get(_key(shop, "orders"), [])
    shopper = signed_in(request, shop)
    if not mine and (shopper is None or order.customer.shopper_id != shopper.pk):
        raise Http404("No such order.")
    return order


@never_cache
@require_http_methods(["GET", "POST"])
def order(request: HttpRequest, public_id: UUID, shop_slug: str | None = None) -> HttpResponse:
    """The order's page: pay (PayNow QR with a countdown, status that updates by itself),
    then its confirmation and progress."""
    shop = shop_of(request, shop_slug)
    found = _visible_order(request, shop, public_id)
    if request.method == "POST":
        if found.status != OrderStatus.PENDING_PAYMENT:
            return redirect(shop_url(request, "order", found.public_id))
        return _start_payment(request, shop, found, request.POST.get("method", "paynow"))
    payment = sales_selectors.order_payment(company=shop, order=found)
    return render(
        request,
        "storefront/order.html",
        _context(
            request,
            shop,
            order=found,
            payment=payment,
            payable=payment is not None and payment.status in OFFER_STATUSES,
            attempt=sales_selectors.payment_attempt(company=shop, payment=payment)
            if payment
            else None,
            lines=sales_selectors.order_lines(company=shop, order=found),
            methods=sales_selectors.pay_methods(company=shop),
            status_url=shop_url(request, "order_status", found.public_id),
            robots="noindex",
        ),
    )


@never_cache
@require_GET
def order_status(
    request: HttpRequest, public_id: UUID, shop_slug: str | None = None
) -> JsonResponse:
    """What the order page polls while the shopper pays."""
    shop = shop_of(request, shop_slug)
    found = _visible_order(request, shop, public_id)
    payment = sales_selectors.order_payment(company=shop, order=found)
    return JsonResponse(
        {
            "status": found.status,
            "status_label": found.get_status_display(),
            "payment_status": payment.status if payment else "",
            "expires_at": payment.expires_at.isoformat() if payment else None,
        }
    )


# -- account -------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    register = request.GET.get("register") == "1" or request.POST.get("register") == "1"
    status = 200
    if request.method == "POST":
        email = request.POST.get("email", "")
        password = request.POST.get("password", "")
        try:
            if register:
                shopper = tenancy_services.shopper_register(
                    company=shop,
                    email=email,
                    password=password,
                    full_name=request.POST.get("full_name", ""),
                )
            else:
                shopper = tenancy_services.shopper_authenticate(
                    company=shop, email=email, password=password
                )
        except DomainError as error:
            messages.error(request, _error_message(error))
            status = error.status
        else:
            _sign_in_as(request, shop, shopper)
            return redirect(next_url(request) or shop_url(request, "account"))
    return render(
        request,
        "storefront/account/sign_in.html",
        _context(
            request, shop, register=register, robots="noindex", next=request.GET.get("next", "")
        ),
        status=status,
    )


def _sign_in_as(request: HttpRequest, shop: Company, shopper: Shopper) -> None:
    """Start the shopper's session; the cart they had as a guest joins their own."""
    guest_cart = current_cart(request, shop)
    request.session.cycle_key()
    request.session[_key(shop, "shopper")] = shopper.pk
    customer = sales_services.customer_for_shopper(company=shop, shopper=shopper)
    if guest_cart is not None and guest_cart.customer_id is None:
        sales_services.cart_merge(company=shop, guest_cart=guest_cart, customer=customer)
    request.session.pop(_key(shop, "cart"), None)


@require_http_methods(["GET", "POST"])
@never_cache
def reset_request(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    """Forgot the password: a link to choose a new one goes to the account's email."""
    shop = shop_of(request, shop_slug)
    sent = ""
    if request.method == "POST":
        sent = " ".join(request.POST.get("email", "").split())[:254]
        tenancy_services.shopper_reset_request(
            company=shop,
            email=sent,
            link_base=request.build_absolute_uri(shop_url(request, "reset_request")),
            client_address=client_ip(request),
        )
    return render(
        request,
        "storefront/account/reset_request.html",
        _context(request, shop, sent=sent, robots="noindex"),
    )


@require_http_methods(["GET", "POST"])
@never_cache
def reset_confirm(
    request: HttpRequest, uidb64: str, token: str, shop_slug: str | None = None
) -> HttpResponse:
    """Choose a new password through a reset link, then be signed in."""
    shop = shop_of(request, shop_slug)
    status = 200
    if request.method == "POST":
        try:
            shopper = tenancy_services.shopper_reset_confirm(
                company=shop,
                uidb64=uidb64,
                token=token,
                new_password=request.POST.get("password", ""),
            )
        except DomainError as error:
            messages.error(request, _error_message(error))
            status = error.status
        else:
            _sign_in_as(request, shop, shopper)
            messages.success(request, "Your new password is saved, and you are signed in.")
            return redirect(shop_url(request, "account"))
    valid = (
        tenancy_services.shopper_reset_shopper(company=shop, uidb64=uidb64, token=token) is not None
    )
    return render(
        request,
        "storefront/account/reset_confirm.html",
        _context(request, shop, valid=valid, robots="noindex"),
        status=status if valid else 400,
    )


@require_POST
def sign_out(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    request.session.pop(_key(shop, "shopper"), None)
    request.session.cycle_key()
    return redirect(shop_url(request, "home"))


@never_cache
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    customer = _customer(request, shop)
    if customer is None:
        return redirect(shop_url(request, "sign_in") + "?next=" + shop_url(request, "account"))
    status = 200
    address_errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "consent":
                sales_services.marketing_consent_set(
                    company=shop, customer=customer, given=request.POST.get("given") == "1"
                )
                messages.success(request, "Your choice is saved.")
            elif action == "add_address":
                sales_services.address_add(company=shop, customer=customer, data=request.POST)
                messages.success(request, "The address is saved.")
            elif action == "delete_address":
                sales_services.address_delete(
                    company=shop, customer=customer, public_id=request.POST.get("address")
                )
                messages.success(request, "The address is removed.")
            else:
                raise DomainError("Choose what to change.", code="unknown_action")
        except DomainError as error:
            address_errors = {d["field"]: d["message"] for d in error.details if "field" in d}
            messages.error(request, error.message)
            status = error.status
        else:
            return redirect(shop_url(request, "account"))
    with tenant_context(shop):
        customer.refresh_from_db()
    return render(
        request,
        "storefront/account/account.html",
        _context(
            request,
            shop,
            customer=customer,
            orders=sales_selectors.customer_orders(company=shop, customer=customer),
            addresses=sales_selectors.addresses(company=shop, customer=customer),
            address_errors=address_errors,
            data=request.POST if status != 200 else {},
            robots="noindex",
        ),
        status=status,
    )


# -- SEO and the installable app -----------------------------------------------------------------


@require_GET
def robots_txt(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop_of(request, shop_slug)
    lines = [
        "User-agent: *",
        f"Disallow: {shop_url(request, 'cart')}",
        f"Disallow: {shop_url(request, 'checkout')}",
        f"Disallow: {shop_url(request, 'account')}",
        f"Sitemap: {request.build_absolute_uri(shop_url(request, 'sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


@require_GET
def sitemap_xml(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    urls: list[tuple[str, Any]] = [(request.build_absolute_uri(shop_url(request, "home")), None)]
    urls += [
        (request.build_absolute_uri(shop_url(request, "category", c.slug)), c.updated_at)
        for c in selectors.categories(shop=shop)
    ]
    urls += [
        (request.build_absolute_uri(shop_url(request, "product", pid, slugify(name))), updated)
        for pid, name, updated in selectors.sitemap_products(shop=shop)
    ]
    response = render(
        request, "storefront/sitemap.xml", {"urls": urls}, content_type="application/xml"
    )
    patch_cache_control(response, public=True, max_age=3600)
    return response


@require_GET
def manifest(request: HttpRequest, shop_slug: str | None = None) -> JsonResponse:
    shop = shop_of(request, shop_slug)
    start = shop_url(request, "home")
    response = JsonResponse(
        {
            "name": shop.legal_name,
            "short_name": shop.legal_name.split(" Pte")[0][:12],
            "start_url": start,
            "scope": start,
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b6e4f",
            "icons": [
                {
                    "src": request.build_absolute_uri(settings.STATIC_URL + "icons/pasar.svg"),
                    "sizes": "any",
                    "type": "image/svg+xml",
                }
            ],
        },
        content_type="application/manifest+json",
    )
    patch_cache_control(response, public=True, max_age=3600)
    return response


@require_GET
def service_worker(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    """Served from within the shop, so its scope is the shop's pages."""
    shop_of(request, shop_slug)
    response = render(
        request,
        "storefront/sw.js",
        {
            "home": shop_url(request, "home"),
            "offline": shop_url(request, "offline"),
            "version": settings.STOREFRONT_CACHE_VERSION,
        },
        content_type="text/javascript",
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = shop_url(request, "home")
    return response


@require_GET
def offline(request: HttpRequest, shop_slug: str | None = None) -> HttpResponse:
    shop = shop_of(request, shop_slug)
    return render(
        request,
        "storefront/offline.html",
        {
            "shop": shop,
            "home_url": shop_url(request, "home"),
            "categories": [],
            "robots": "noindex",
        },
    )

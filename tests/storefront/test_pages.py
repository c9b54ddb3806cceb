"""The public shop over HTTP: catalogue, SEO, the guest's path to a paid order, bad input."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pasar.catalog.models import Category
from pasar.core.tenant import tenant_context
from pasar.inventory import services as inventory_services
from pasar.payments import services as payment_services
from pasar.payments.models import PaymentAttempt
from pasar.sales.models import Cart, Order, OrderStatus
from tests.factories import TenantFactory
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.sales.conftest import ADDRESS, Store

pytestmark = pytest.mark.django_db(transaction=True)


class CategoryFactory(TenantFactory):
    class Meta:
        model = Category


def base(store: Store) -> str:
    return f"/s/{store.company.shop_slug}/"


def test_the_home_page_lists_products_with_gst_inclusive_prices(
    store: Store, client: Client
) -> None:
    page = client.get(base(store))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Kopi 250g" in text
    assert "S$18.90" in text
    assert "Prices include" in text


def test_a_product_page_has_its_seo(store: Store, client: Client) -> None:
    product = store.kopi.product
    page = client.get(f"{base(store)}p/{product.public_id}/kopi-250g/")
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        f'<link rel="canonical" href="http://testserver{base(store)}p/{product.public_id}/kopi-250g/">'
        in text
    )
    assert '<meta property="og:title" content="Kopi 250g">' in text
    data = json.loads(
        re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', text, re.S).group(1)
    )
    assert data["@type"] == "Product"
    assert data["offers"][0] == {
        "@type": "Offer",
        "sku": "KOPI-250",
        "price": "18.90",
        "priceCurrency": "SGD",
        "availability": "https://schema.org/InStock",
        "url": f"http://testserver{base(store)}p/{product.public_id}/kopi-250g/",
    }


def test_a_product_address_with_an_old_name_moves_to_the_canonical_one(
    store: Store, client: Client
) -> None:
    product = store.kopi.product
    answer = client.get(f"{base(store)}p/{product.public_id}/old-name/")
    assert answer.status_code == 301
    assert answer["Location"].endswith(f"/p/{product.public_id}/kopi-250g/")


def test_sitemap_and_robots(store: Store, client: Client) -> None:
    sitemap = client.get(f"{base(store)}sitemap.xml").content.decode()
    assert f"{base(store)}p/{store.kopi.product.public_id}/kopi-250g/</loc>" in sitemap
    robots = client.get(f"{base(store)}robots.txt").content.decode()
    assert f"Disallow: {base(store)}checkout/" in robots
    assert f"Sitemap: http://testserver{base(store)}sitemap.xml" in robots


def test_the_installable_shop(store: Store, client: Client) -> None:
    manifest = client.get(f"{base(store)}manifest.webmanifest").json()
    assert manifest["start_url"] == base(store)
    assert manifest["display"] == "standalone"
    worker = client.get(f"{base(store)}sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == base(store)


def test_an_unknown_shop_is_a_404(client: Client, db: None) -> None:
    assert client.get("/s/no-such-shop/").status_code == 404


def test_a_shop_on_its_own_domain(store: Store, client: Client, settings) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    store.company.shop_domain = "kopi.example.sg"
    store.company.save()
    page = client.get("/", HTTP_HOST="kopi.example.sg")
    assert page.status_code == 200
    assert "Kopi 250g" in page.content.decode()
    assert 'href="/p/' in page.content.decode()


def test_a_guest_buys_and_pays_through_the_pages(
    store: Store, client: Client, to_app: dict[str, httpx.Client]
) -> None:
    shop = base(store)
    added = client.post(
        f"{shop}cart/", {"action": "add", "variant": str(store.kopi.public_id), "quantity": "2"}
    )
    assert added.status_code == 302
    details = client.post(
        f"{shop}checkout/", {**ADDRESS, "delivery_method": str(store.delivery.public_id)}
    )
    assert details.status_code == 302
    assert details["Location"] == f"{shop}checkout/review/"
    review = client.get(f"{shop}checkout/review/").content.decode()
    assert "S$41.80" in review  # 2 x 18.90 + 4.00 delivery
    placed = client.post(f"{shop}checkout/review/", {"method": "paynow", "expected_total": "41.80"})
    assert placed.status_code == 302
    assert "/sandbox/" in placed["Location"]  # the sandbox's hosted PayNow page
    with tenant_context(store.company):
        order = Order.objects.get()
        attempt = PaymentAttempt.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    waiting = client.get(f"{shop}orders/{order.public_id}/").content.decode()
    assert "Time left to pay" in waiting
    assert (
        client.get(f"{shop}orders/{order.public_id}/status/").json()["status"] == "pending_payment"
    )

    payment_services.sandbox_charge_settle(
        company=store.company,
        provider_reference=attempt.provider_reference,
        outcome="paid",
        http=to_app,
    )

    assert client.get(f"{shop}orders/{order.public_id}/status/").json()["status"] == "paid"
    done = client.get(f"{shop}orders/{order.public_id}/").content.decode()
    assert "Your order is confirmed" in done
    # Another browser does not see the order.
    assert Client().get(f"{shop}orders/{order.public_id}/").status_code == 404


def test_an_invalid_postal_code_is_a_400_and_nothing_is_kept(store: Store, client: Client) -> None:
    shop = base(store)
    client.post(
        f"{shop}cart/", {"action": "add", "variant": str(store.kopi.public_id), "quantity": "1"}
    )
    answer = client.post(
        f"{shop}checkout/",
        {**ADDRESS, "postal_code": "5601", "delivery_method": str(store.delivery.public_id)},
    )
    assert answer.status_code == 400
    assert "A Singapore postal code has six digits." in answer.content.decode()
    with tenant_context(store.company):
        assert Cart.objects.get().email == ""


def test_more_than_the_stock_is_a_409_with_the_number_left(store: Store, client: Client) -> None:
    answer = client.post(
        f"{base(store)}cart/",
        {"action": "add", "variant": str(store.teh.public_id), "quantity": "6"},
    )
    assert answer.status_code == 409
    assert "Only 5 of Teh tarik 100g left." in answer.content.decode()


def test_an_expired_code_is_told(store: Store, client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from pasar.sales import services

    services.promotion_save(
        company=store.company,
        actor=None,
        data={
            "name": "Old",
            "code": "OLD10",
            "kind": "percentage",
            "value": "10",
            "starts_at": timezone.now() - timedelta(days=10),
            "ends_at": timezone.now() - timedelta(days=1),
        },
    )
    shop = base(store)
    client.post(
        f"{shop}cart/", {"action": "add", "variant": str(store.kopi.public_id), "quantity": "1"}
    )
    answer = client.post(f"{shop}cart/", {"action": "code", "code": "old10"})
    assert answer.status_code == 400
    assert "OLD10 has expired." in answer.content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_category_product_and_cart_pages_cost_the_same_queries_however_much_they_show(
    store: Store, client: Client, settings
) -> None:
    settings.STOREFRONT_CACHE_SECONDS = 0  # every request renders
    company = store.company
    shelf = CategoryFactory(company=company, name="Coffee", slug="coffee")

    def stock(count: int, **extra) -> list:
        made = []
        for _ in range(count):
            variant = VariantFactory(
                company=company, product=ProductFactory(company=company, category=shelf), **extra
            )
            inventory_services.stock_receive(
                company=company,
                variant=variant,
                location=store.warehouse,
                quantity=5,
                unit_cost=Decimal(1),
            )
            made.append(variant)
        return made

    stock(2)
    few = _queries(client, f"{base(store)}c/coffee/")
    stock(20)
    many = _queries(client, f"{base(store)}c/coffee/")
    assert few == many

    one_variant = store.kopi.product
    single = _queries(client, f"{base(store)}p/{one_variant.public_id}/kopi-250g/")
    for size in ("S", "M", "L", "XL"):
        VariantFactory(company=company, product=one_variant, options={"size": size})
    several = _queries(client, f"{base(store)}p/{one_variant.public_id}/kopi-250g/")
    assert single == several

    variants = stock(6)
    client.post(f"{base(store)}cart/", {"action": "add", "variant": str(variants[0].public_id)})
    one_line = _queries(client, f"{base(store)}cart/")
    for variant in variants[1:]:
        client.post(f"{base(store)}cart/", {"action": "add", "variant": str(variant.public_id)})
    six_lines = _queries(client, f"{base(store)}cart/")
    assert one_line == six_lines


def test_a_kept_page_is_rendered_once_and_each_shopper_gets_their_own_form_token(
    store: Store, settings
) -> None:
    settings.STOREFRONT_CACHE_SECONDS = 10
    product = f"{base(store)}p/{store.kopi.product.public_id}/kopi-250g/"
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    rendered = _queries(first, product)
    kept = _queries(second, product)
    assert kept < rendered
    page = second.get(product).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    added = second.post(
        f"{base(store)}cart/",
        {"action": "add", "variant": str(store.kopi.public_id), "csrfmiddlewaretoken": token},
    )
    assert added.status_code == 302


def test_a_stranger_gets_the_kept_page_with_their_own_nonce_and_token(
    store: Store, settings
) -> None:
    settings.STOREFRONT_CACHE_SECONDS = 10
    product = f"{base(store)}p/{store.kopi.product.public_id}/kopi-250g/"
    first = Client(enforce_csrf_checks=True)
    rendered = _queries(first, product)
    stranger = Client(enforce_csrf_checks=True)
    with CaptureQueriesContext(connection) as captured:
        page = stranger.get(product)
    assert len(captured) < rendered
    html = page.content.decode()
    nonce = re.search(r'<script src="[^"]+" nonce="([^"]+)"', html).group(1)
    assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]
    assert "pasar-csp-nonce-mark" not in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    added = stranger.post(
        f"{base(store)}cart/",
        {"action": "add", "variant": str(store.kopi.public_id), "csrfmiddlewaretoken": token},
    )
    assert added.status_code == 302
    stranger.get(f"{base(store)}cart/")  # where the add leads: its message is read there
    # With a cart, the kept page carries the shopper's own header: the cart counted.
    with CaptureQueriesContext(connection) as captured:
        again = stranger.get(product).content.decode()
    assert len(captured) < rendered
    assert 'aria-label="1 items"' in again
    assert again.count("<!--shopper-->") == 1


def test_a_kept_page_never_shows_one_shoppers_header_to_another(store: Store, settings) -> None:
    """The page kept while a signed-in shopper with a cart asked for it first is a stranger's
    page: the next shopper sees their own header, not the first one's."""
    settings.STOREFRONT_CACHE_SECONDS = 10
    product = f"{base(store)}p/{store.kopi.product.public_id}/kopi-250g/"
    first = Client()
    first.post(f"{base(store)}cart/", {"action": "add", "variant": str(store.kopi.public_id)})
    first.get(f"{base(store)}cart/")
    assert 'aria-label="1 items"' in first.get(product).content.decode()
    stranger = Client().get(product).content.decode()
    assert 'items"' not in stranger.split("<!--/shopper-->")[0].split("<!--shopper-->")[1]
    assert "Sign in" in stranger


def test_a_waiting_message_is_shown_on_the_next_catalogue_page(store: Store, settings) -> None:
    settings.STOREFRONT_CACHE_SECONDS = 10
    product = f"{base(store)}p/{store.kopi.product.public_id}/kopi-250g/"
    Client().get(product)  # kept
    shopper = Client()
    shopper.post(f"{base(store)}cart/", {"action": "add", "variant": str(store.kopi.public_id)})
    page = shopper.get(product).content.decode()
    assert "Added to your cart." in page

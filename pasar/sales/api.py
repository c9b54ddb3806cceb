"""The sales API.

- /api/v1/shops/<shop-slug>/…: the shop as a shopper's app or a kiosk uses it, with no sign-in:
  a cart is found by its id (a random UUID only its holder knows), an order by its id too.
  Create a cart, add lines, give the details, place the order (Idempotency-Key), pay.
- /api/v1/orders/…: the company's orders for its staff (JWT or session), by role.

Views read input with StrictSerializers and call one service; the rules live in
`pasar.sales.services`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.core.api import StrictSerializer
from pasar.core.errors import DomainError, NotFound
from pasar.core.tenant import tenant_context
from pasar.core.transactions import no_request_transaction
from pasar.inventory import selectors as inventory_selectors
from pasar.sales import selectors, services
from pasar.sales.models import Cart, Order, OrderStatus
from pasar.tenancy import selectors as tenancy_selectors
from pasar.tenancy.models import Company
from pasar.tenancy.permissions import RoleAllows, acting_company

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Send the same key again (after a timeout, say) to get the same order back. "
    "Without one, a cart places one order at most.",
)


def _shop(slug: str) -> Company:
    shop = tenancy_selectors.company_by_shop_slug(slug=slug)
    if shop is None:
        raise NotFound("No such shop.", code="shop_not_found")
    return shop


def _cart(shop: Company, public_id: Any) -> Cart:
    cart = services.cart_find(company=shop, public_id=public_id)
    if cart is None:
        raise NotFound("That cart was not found, or it has been ordered.", code="cart_not_found")
    return cart


def _order(company: Company, public_id: Any) -> Order:
    found = selectors.order_get(company=company, public_id=public_id)
    if found is None:
        raise NotFound("That order was not found.", code="order_not_found")
    return found


def _with_lines(company: Company, order: Order) -> dict[str, Any]:
    lines = selectors.order_lines(company=company, order=order)
    return {**OrderOutput(order).data, "lines": OrderLineOutput(lines, many=True).data}


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> Any:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# -- output --------------------------------------------------------------------------------------


def cart_output(figures: services.CartFigures) -> dict[str, Any]:
    quote = figures.quote
    return {
        "id": str(figures.cart.public_id),
        "lines": [
            {
                "variant": str(line.variant.public_id),
                "sku": line.variant.sku,
                "name": line.variant.product.name,
                "quantity": line.line.quantity,
                "unit_price": str(line.unit_price),
                "unit_price_seen": str(line.line.unit_price_seen),
                "discount": str(line.discount),
                "net": str(line.net),
                "gst": str(line.gst),
                "available": line.sellable,
            }
            for line in figures.lines
        ],
        "codes": figures.cart.codes,
        "refused_codes": figures.outcome.refused,
        "promotions": [
            {"name": a.promotion.name, "code": a.promotion.code, "amount": str(a.amount)}
            for a in figures.outcome.applied
        ],
        "delivery_method": str(figures.delivery.public_id) if figures.delivery else None,
        "email": figures.cart.email,
        "subtotal": str(quote.subtotal),
        "discount": str(quote.discount),
        "shipping": str(quote.shipping),
        "gst": str(quote.gst),
        "gst_rate": str(quote.gst_rate),
        "total": str(quote.total),
        "currency": "SGD",
        "problems": figures.problems,
    }


class OrderLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    tax_code = serializers.CharField()
    quantity = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    gross = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    order_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    net = serializers.DecimalField(max_digits=12, decimal_places=2)
    gst = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    email = serializers.EmailField()
    delivery_name = serializers.CharField()
    delivery_kind = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    gst = serializers.DecimalField(max_digits=12, decimal_places=2)
    gst_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    prices_include_gst = serializers.BooleanField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    codes = serializers.ListField(child=serializers.CharField())
    payment = serializers.UUIDField(source="payment_id", allow_null=True)
    stock_problem = serializers.CharField()
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class CartLineOutput(serializers.Serializer):
    variant = serializers.UUIDField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    unit_price_seen = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    net = serializers.DecimalField(max_digits=12, decimal_places=2)
    gst = serializers.DecimalField(max_digits=12, decimal_places=2)
    available = serializers.IntegerField(help_text="What the web shop can still sell of it.")


class AppliedOutput(serializers.Serializer):
    name = serializers.CharField()
    code = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class CartOutput(serializers.Serializer):
    """The schema of `cart_output`: every figure of the cart, as the pricing service gave it."""

    id = serializers.UUIDField()
    lines = CartLineOutput(many=True)
    codes = serializers.ListField(child=serializers.CharField())
    refused_codes = serializers.DictField(child=serializers.CharField())
    promotions = AppliedOutput(many=True)
    delivery_method = serializers.UUIDField(allow_null=True)
    email = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    gst = serializers.DecimalField(max_digits=12, decimal_places=2)
    gst_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())


class OrderWithLinesOutput(OrderOutput):
    lines = OrderLineOutput(many=True)


class StartedPaymentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    gateway = serializers.CharField()
    provider_reference = serializers.CharField()
    checkout_url = serializers.URLField(allow_null=True)
    paynow_payload = serializers.CharField(allow_null=True, help_text="The PayNow QR's text.")
    expires_at = serializers.DateTimeField()


class CheckoutOutput(serializers.Serializer):
    order = OrderOutput()
    payment = StartedPaymentOutput(allow_null=True)


class ShipmentOutput(serializers.Serializer):
    shipment = serializers.CharField()
    order = OrderOutput()


# -- the shop ------------------------------------------------------------------------------------


class LineInput(StrictSerializer):
    variant = serializers.UUIDField(required=False)
    sku = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("variant") and not attrs.get("sku"):
            raise serializers.ValidationError({"variant": ["Name the variant or its SKU."]})
        return attrs


class QuantityInput(StrictSerializer):
    quantity = serializers.IntegerField(min_value=0, max_value=99)


class CodeInput(StrictSerializer):
    code = serializers.CharField(max_length=40)


class DetailsInput(StrictSerializer):
    email = serializers.CharField(max_length=254)
    name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    delivery_method = serializers.UUIDField()
    block = serializers.CharField(max_length=20, required=False, allow_blank=True)
    street = serializers.CharField(max_length=100, required=False, allow_blank=True)
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    building = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    marketing_consent = serializers.BooleanField(default=False)


class PlaceInput(StrictSerializer):
    expected_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, help_text="The total the shopper saw."
    )
    method = serializers.ChoiceField(choices=["paynow", "card", "grabpay"], required=False)
    return_url = serializers.URLField(required=False, max_length=500)


class PublicView(APIView):
    """A shop endpoint: anyone may call it; the cart's id is what they must hold."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class CartCreateView(PublicView):
    @extend_schema(request=None, responses={201: CartOutput}, summary="Open a cart")
    def post(self, request: Request, shop_slug: str) -> Response:
        shop = _shop(shop_slug)
        with tenant_context(shop, all_or_nothing=True):
            cart = services.cart_open(company=shop)
            figures = services.cart_figures(company=shop, cart=cart)
        return Response(cart_output(figures), status=status.HTTP_201_CREATED)


def _cart_step(
    shop_slug: str, cart_id: str, change: Callable[[Company, Cart], object] | None = None
) -> dict[str, Any]:
    """One step on a cart, all or nothing: find it, change it, answer with every figure of it
    (the cart services leave the cart they were given as it is stored now)."""
    shop = _shop(shop_slug)
    with tenant_context(shop, all_or_nothing=True):
        found = _cart(shop, cart_id)
        if change is not None:
            change(shop, found)
        figures = services.cart_figures(company=shop, cart=found)
    return cart_output(figures)


class CartView(PublicView):
    @extend_schema(responses=CartOutput, summary="A cart and every figure of it")
    def get(self, request: Request, shop_slug: str, cart: str) -> Response:
        return Response(_cart_step(shop_slug, cart))


class CartLinesView(PublicView):
    @extend_schema(request=LineInput, responses={201: CartOutput}, summary="Add units of a variant")
    def post(self, request: Request, shop_slug: str, cart: str) -> Response:
        data = _valid(LineInput, request)
        answer = _cart_step(
            shop_slug,
            cart,
            lambda shop, found: services.cart_add(
                company=shop,
                cart=found,
                variant_id=data.get("variant"),
                sku=data.get("sku", ""),
                quantity=data["quantity"],
            ),
        )
        return Response(answer, status=status.HTTP_201_CREATED)


class CartLineView(PublicView):
    @extend_schema(
        request=QuantityInput,
        responses=CartOutput,
        summary="Change a line's quantity (0 removes it)",
    )
    def patch(self, request: Request, shop_slug: str, cart: str, variant: str) -> Response:
        quantity = _valid(QuantityInput, request)["quantity"]
        return Response(
            _cart_step(
                shop_slug,
                cart,
                lambda shop, found: services.cart_set_quantity(
                    company=shop, cart=found, variant_id=variant, quantity=quantity
                ),
            )
        )

    @extend_schema(request=None, responses=CartOutput, summary="Remove a line")
    def delete(self, request: Request, shop_slug: str, cart: str, variant: str) -> Response:
        return Response(
            _cart_step(
                shop_slug,
                cart,
                lambda shop, found: services.cart_set_quantity(
                    company=shop, cart=found, variant_id=variant, quantity=0
                ),
            )
        )


class CartCodesView(PublicView):
    @extend_schema(request=CodeInput, responses=CartOutput, summary="Apply a promotion code")
    def post(self, request: Request, shop_slug: str, cart: str) -> Response:
        code = _valid(CodeInput, request)["code"]
        return Response(
            _cart_step(
                shop_slug,
                cart,
                lambda shop, found: services.cart_apply_code(company=shop, cart=found, code=code),
            )
        )


class CartDetailsView(PublicView):
    @extend_schema(
        request=DetailsInput, responses=CartOutput, summary="Contact, delivery method and address"
    )
    def put(self, request: Request, shop_slug: str, cart: str) -> Response:
        data = _valid(DetailsInput, request)
        data["delivery_method"] = str(data["delivery_method"])
        return Response(
            _cart_step(
                shop_slug,
                cart,
                lambda shop, found: services.cart_set_details(company=shop, cart=found, data=data),
            )
        )


@no_request_transaction
class CheckoutView(PublicView):
    @extend_schema(
        request=PlaceInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: CheckoutOutput},
        summary="Place the order; with `method`, start its payment too",
    )
    def post(self, request: Request, shop_slug: str, cart: str) -> Response:
        shop = _shop(shop_slug)
        data = _valid(PlaceInput, request)
        order = services.order_place_for_cart_id(
            company=shop,
            cart_id=cart,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            expected_total=data.get("expected_total"),
        )
        body: dict[str, Any] = {"order": OrderOutput(order).data, "payment": None}
        method = data.get("method")
        if method and order.status == OrderStatus.PENDING_PAYMENT:
            started = services.order_payment_start(
                company=shop,
                order=order,
                method=method,
                base_url=request.build_absolute_uri("/"),
                return_url=data.get("return_url") or request.build_absolute_uri("/"),
            )
            body["payment"] = {
                "id": str(order.payment_id),
                "gateway": started.attempt.gateway,
                "provider_reference": started.attempt.provider_reference,
                "checkout_url": started.attempt.checkout_url or None,
                "paynow_payload": started.attempt.paynow_payload or None,
                "expires_at": started.payment.expires_at,
            }
        return Response(body, status=status.HTTP_201_CREATED)


class ShopOrderView(PublicView):
    @extend_schema(responses=OrderWithLinesOutput, summary="An order placed at the shop, by its id")
    def get(self, request: Request, shop_slug: str, order: str) -> Response:
        shop = _shop(shop_slug)
        return Response(_with_lines(shop, _order(shop, order)))


# -- staff ---------------------------------------------------------------------------------------


class OrderListView(ListAPIView):
    permission_classes = (RoleAllows.to("order.view"),)
    serializer_class = OrderOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=OrderStatus.values),
            OpenApiParameter("q", str, description="Order number, email or name"),
            OpenApiParameter("sort", str, enum=list(selectors.ORDER_SORTS)),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Order]:
        params = self.request.query_params
        if params.get("status") and params["status"] not in OrderStatus.values:
            raise DomainError(
                f"status is one of {', '.join(OrderStatus.values)}.", code="invalid_filter"
            )
        return selectors.order_list(
            company=acting_company(self.request),
            status=params.get("status", ""),
            query=" ".join(params.get("q", "").split())[:100],
            sort=params.get("sort", "newest"),
        )


class OrderDetailView(APIView):
    permission_classes = (RoleAllows.to("order.view"),)

    @extend_schema(responses=OrderWithLinesOutput)
    def get(self, request: Request, public_id: str) -> Response:
        company = acting_company(request)
        return Response(_with_lines(company, _order(company, public_id)))


class ShipInput(StrictSerializer):
    location = serializers.UUIDField()
    lines = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text="Units by SKU; leave out to ship everything left.",
    )
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=60, required=False, allow_blank=True)


class OrderShipView(APIView):
    permission_classes = (RoleAllows.to("order.fulfil"),)

    @extend_schema(
        request=ShipInput,
        responses={201: ShipmentOutput},
        summary="Record a shipment from a location",
    )
    def post(self, request: Request, public_id: str) -> Response:
        company = acting_company(request)
        found = _order(company, public_id)
        data = _valid(ShipInput, request)
        with tenant_context(company):
            location = inventory_selectors.location_get(company=company, public_id=data["location"])
        quantities = (
            services.line_quantities(company=company, order=found, units_by_sku=data["lines"])
            if data.get("lines")
            else None
        )
        shipment = services.order_ship(
            company=company,
            order=found,
            location=location,
            quantities=quantities,
            carrier=data.get("carrier", ""),
            tracking_number=data.get("tracking_number", ""),
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(
            {"shipment": shipment.number, "order": OrderOutput(shipment.order).data},
            status=status.HTTP_201_CREATED,
        )

"""Writes of the sales context, one module per capability; callers write
`from pasar.sales import services` and `services.order_place(...)`.

- `customers`: customers, saved addresses, marketing consent
- `carts`: carts and their figures (`cart_figures`: the one place a cart is priced)
- `promotions`: which offers apply, and counting their uses
- `checkout`: placing an order and starting its payment
- `orders`: what follows: paid, cancelled, shipped, delivered, refunded
- `returns`: requested, approved, received, refunded
"""

from pasar.sales.services.carts import (
    CartError,
    CartFigures,
    NotEnoughStock,
    cart_accept_prices,
    cart_add,
    cart_apply_code,
    cart_figures,
    cart_find,
    cart_merge,
    cart_open,
    cart_remove_code,
    cart_set_details,
    cart_set_quantity,
    checkout_details,
    consumer_price,
    gst_rate,
    web_channel,
)
from pasar.sales.services.checkout import (
    CheckoutIncomplete,
    PriceChanged,
    order_payment_start,
    order_place,
    order_place_for_cart_id,
)
from pasar.sales.services.customers import (
    PRIVACY_NOTICE_VERSION,
    InvalidAddress,
    address_add,
    address_delete,
    customer_for_shopper,
    marketing_consent_set,
)
from pasar.sales.services.orders import (
    OrderActionRefused,
    line_quantities,
    order_cancel,
    order_complete,
    order_mark_delivered,
    order_payment_captured,
    order_payment_lapsed,
    order_refund,
    order_refund_recorded,
    order_reserve_again,
    order_ship,
    order_start_processing,
)
from pasar.sales.services.promotions import (
    InvalidPromotion,
    PromotionUnavailable,
    categories_by_public_id,
    products_by_sku,
    promotion_save,
    promotion_set_active,
)
from pasar.sales.services.returns import (
    InvalidReturn,
    return_approve,
    return_receive,
    return_refund,
    return_reject,
    return_request,
)

__all__ = [
    "PRIVACY_NOTICE_VERSION",
    "CartError",
    "CartFigures",
    "CheckoutIncomplete",
    "InvalidAddress",
    "InvalidPromotion",
    "InvalidReturn",
    "NotEnoughStock",
    "OrderActionRefused",
    "PriceChanged",
    "PromotionUnavailable",
    "address_add",
    "address_delete",
    "cart_accept_prices",
    "cart_add",
    "cart_apply_code",
    "cart_figures",
    "cart_find",
    "cart_merge",
    "cart_open",
    "cart_remove_code",
    "cart_set_details",
    "cart_set_quantity",
    "categories_by_public_id",
    "checkout_details",
    "consumer_price",
    "customer_for_shopper",
    "gst_rate",
    "line_quantities",
    "marketing_consent_set",
    "order_cancel",
    "order_complete",
    "order_mark_delivered",
    "order_payment_captured",
    "order_payment_lapsed",
    "order_payment_start",
    "order_place",
    "order_place_for_cart_id",
    "order_refund",
    "order_refund_recorded",
    "order_reserve_again",
    "order_ship",
    "order_start_processing",
    "products_by_sku",
    "promotion_save",
    "promotion_set_active",
    "return_approve",
    "return_receive",
    "return_refund",
    "return_reject",
    "return_request",
    "web_channel",
]

from django.urls import path

from pasar.sales import api

shop = "shops/<slug:shop_slug>/"
urlpatterns = [
    path(f"{shop}carts/", api.CartCreateView.as_view(), name="shop-cart-create"),
    path(f"{shop}carts/<uuid:cart>/", api.CartView.as_view(), name="shop-cart"),
    path(f"{shop}carts/<uuid:cart>/lines/", api.CartLinesView.as_view(), name="shop-cart-lines"),
    path(
        f"{shop}carts/<uuid:cart>/lines/<uuid:variant>/",
        api.CartLineView.as_view(),
        name="shop-cart-line",
    ),
    path(f"{shop}carts/<uuid:cart>/codes/", api.CartCodesView.as_view(), name="shop-cart-codes"),
    path(
        f"{shop}carts/<uuid:cart>/details/", api.CartDetailsView.as_view(), name="shop-cart-details"
    ),
    path(f"{shop}carts/<uuid:cart>/checkout/", api.CheckoutView.as_view(), name="shop-checkout"),
    path(f"{shop}orders/<uuid:order>/", api.ShopOrderView.as_view(), name="shop-order"),
    path("orders/", api.OrderListView.as_view(), name="order-list"),
    path("orders/<uuid:public_id>/", api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<uuid:public_id>/ship/", api.OrderShipView.as_view(), name="order-ship"),
]

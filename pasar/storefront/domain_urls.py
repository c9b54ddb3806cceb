"""The URLs of a request that arrived on a shop's own domain: the shop at the root, and the
payment pages and webhooks it needs (pasar.storefront.middleware)."""

from django.urls import include, path

from pasar.storefront.urls import shop_pages

urlpatterns = [
    path("", include((shop_pages, "shop_domain"))),
    path("", include("pasar.payments.urls")),
]

"""The storefront's pages, mounted twice: under /s/<shop-slug>/ (app `storefront`) and at the
root of a shop's own domain (app `shop_domain`, chosen by pasar.storefront.middleware)."""

from django.urls import include, path

from pasar.storefront import views

shop_pages = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("c/<slug:category_slug>/", views.category, name="category"),
    path("p/<uuid:public_id>/", views.product, name="product_bare"),
    path("p/<uuid:public_id>/<str:slug>/", views.product, name="product"),
    path("img/<uuid:public_id>/<str:size>/", views.image, name="image"),
    path("cart/", views.cart, name="cart"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/review/", views.review, name="review"),
    path("orders/<uuid:public_id>/", views.order, name="order"),
    path("orders/<uuid:public_id>/status/", views.order_status, name="order_status"),
    path("account/", views.account, name="account"),
    path("account/sign-in/", views.sign_in, name="sign_in"),
    path("account/sign-out/", views.sign_out, name="sign_out"),
    path("account/reset/", views.reset_request, name="reset_request"),
    path("account/reset/<str:uidb64>/<str:token>/", views.reset_confirm, name="reset_confirm"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("sitemap.xml", views.sitemap_xml, name="sitemap"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]

app_name = "storefront"
urlpatterns = [path("s/<slug:shop_slug>/", include(shop_pages))]

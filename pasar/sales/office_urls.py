from django.urls import path

from pasar.sales import views

app_name = "sales_office"
urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/<uuid:public_id>/", views.order_detail, name="order_detail"),
    path("orders/<uuid:public_id>/<slug:action>/", views.order_action, name="order_action"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<uuid:public_id>/", views.customer_detail, name="customer_detail"),
    path("promotions/", views.promotion_list, name="promotion_list"),
    path("promotions/<uuid:public_id>/", views.promotion_edit, name="promotion_edit"),
    path(
        "promotions/<uuid:public_id>/active/",
        views.promotion_switch,
        name="promotion_switch",
    ),
]

from django.urls import path

from pasar.inventory import views

app_name = "inventory"
urlpatterns = [
    path("onboarding/location/", views.onboarding_location, name="onboarding_location"),
    path("office/stock/", views.stock_levels, name="stock_levels"),
    path("office/stock/low/", views.low_stock, name="low_stock"),
    path(
        "office/stock/variants/<uuid:public_id>/",
        views.movement_history,
        name="movement_history",
    ),
    path(
        "office/stock/variants/<uuid:public_id>/adjust/",
        views.stock_adjust,
        name="stock_adjust",
    ),
]

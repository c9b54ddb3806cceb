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
    path("office/stock/transfers/", views.transfer_list, name="transfer_list"),
    path("office/stock/transfers/new/", views.transfer_new, name="transfer_new"),
    path(
        "office/stock/transfers/<uuid:public_id>/",
        views.transfer_detail,
        name="transfer_detail",
    ),
    path(
        "office/stock/transfers/<uuid:public_id>/dispatch/",
        views.transfer_dispatch,
        name="transfer_dispatch",
    ),
    path(
        "office/stock/transfers/<uuid:public_id>/receive/",
        views.transfer_receive,
        name="transfer_receive",
    ),
    path(
        "office/stock/transfers/<uuid:public_id>/cancel/",
        views.transfer_cancel,
        name="transfer_cancel",
    ),
    path("office/stock/counts/", views.count_list, name="count_list"),
    path("office/stock/counts/new/", views.count_new, name="count_new"),
    path("office/stock/counts/<uuid:public_id>/", views.count_detail, name="count_detail"),
    path(
        "office/stock/counts/<uuid:public_id>/record/",
        views.count_record,
        name="count_record",
    ),
    path(
        "office/stock/counts/<uuid:public_id>/cancel/",
        views.count_cancel,
        name="count_cancel",
    ),
    path("office/stock/receipts/", views.receipt_list, name="receipt_list"),
    path("office/stock/receipts/new/", views.receipt_new, name="receipt_new"),
    path(
        "office/stock/receipts/<uuid:public_id>/",
        views.receipt_detail,
        name="receipt_detail",
    ),
    path(
        "office/stock/receipts/<uuid:public_id>/void/",
        views.receipt_void,
        name="receipt_void",
    ),
]

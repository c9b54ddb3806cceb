"""/api/v1/inventory/ routes."""

from django.urls import path

from pasar.inventory import api

urlpatterns = [
    path("reservations", api.ReservationListView.as_view(), name="api-inventory-reservations"),
    path(
        "reservations/<str:public_id>",
        api.ReservationDetailView.as_view(),
        name="api-inventory-reservation",
    ),
    path(
        "reservations/<str:public_id>/commit",
        api.ReservationCommitView.as_view(),
        name="api-inventory-reservation-commit",
    ),
    path(
        "reservations/<str:public_id>/fulfil",
        api.ReservationFulfilView.as_view(),
        name="api-inventory-reservation-fulfil",
    ),
    path(
        "reservations/<str:public_id>/release",
        api.ReservationReleaseView.as_view(),
        name="api-inventory-reservation-release",
    ),
    path("locations", api.LocationListView.as_view(), name="api-inventory-locations"),
    path(
        "locations/<str:public_id>",
        api.LocationDetailView.as_view(),
        name="api-inventory-location",
    ),
    path("levels", api.StockLevelListView.as_view(), name="api-inventory-levels"),
    path("levels/reorder", api.StockLevelReorderView.as_view(), name="api-inventory-reorder"),
    path("low-stock", api.LowStockListView.as_view(), name="api-inventory-low-stock"),
    path("movements", api.MovementListView.as_view(), name="api-inventory-movements"),
    path("adjustments", api.AdjustmentView.as_view(), name="api-inventory-adjustments"),
    path("channels", api.ChannelListView.as_view(), name="api-inventory-channels"),
    path(
        "channels/<str:kind>/buffer",
        api.ChannelBufferView.as_view(),
        name="api-inventory-channel-buffer",
    ),
    path("transfers", api.TransferListView.as_view(), name="api-inventory-transfers"),
    path(
        "transfers/<str:public_id>",
        api.TransferDetailView.as_view(),
        name="api-inventory-transfer",
    ),
    path(
        "transfers/<str:public_id>/dispatch",
        api.TransferDispatchView.as_view(),
        name="api-inventory-transfer-dispatch",
    ),
    path(
        "transfers/<str:public_id>/receive",
        api.TransferReceiveView.as_view(),
        name="api-inventory-transfer-receive",
    ),
    path(
        "transfers/<str:public_id>/cancel",
        api.TransferCancelView.as_view(),
        name="api-inventory-transfer-cancel",
    ),
    path("counts", api.StockCountListView.as_view(), name="api-inventory-counts"),
    path(
        "counts/<str:public_id>",
        api.StockCountDetailView.as_view(),
        name="api-inventory-count",
    ),
    path(
        "counts/<str:public_id>/record",
        api.StockCountRecordView.as_view(),
        name="api-inventory-count-record",
    ),
    path(
        "counts/<str:public_id>/post",
        api.StockCountPostView.as_view(),
        name="api-inventory-count-post",
    ),
    path(
        "counts/<str:public_id>/cancel",
        api.StockCountCancelView.as_view(),
        name="api-inventory-count-cancel",
    ),
    path(
        "purchase-receipts",
        api.PurchaseReceiptListView.as_view(),
        name="api-inventory-purchase-receipts",
    ),
    path(
        "purchase-receipts/<str:public_id>",
        api.PurchaseReceiptDetailView.as_view(),
        name="api-inventory-purchase-receipt",
    ),
    path(
        "purchase-receipts/<str:public_id>/void",
        api.PurchaseReceiptVoidView.as_view(),
        name="api-inventory-purchase-receipt-void",
    ),
]

"""/api/v1/payments routes."""

from django.urls import path

from pasar.payments import api

urlpatterns = [
    path("payments", api.PaymentListView.as_view(), name="api-payments"),
    path("payments/gateways", api.GatewayListView.as_view(), name="api-payments-gateways"),
    path(
        "payments/gateways/<str:gateway>",
        api.GatewayDetailView.as_view(),
        name="api-payments-gateway",
    ),
    path("payments/webhooks", api.WebhookLogListView.as_view(), name="api-payments-webhooks"),
    path("payments/<uuid:public_id>", api.PaymentDetailView.as_view(), name="api-payment"),
    path(
        "payments/<uuid:public_id>/start", api.PaymentStartView.as_view(), name="api-payment-start"
    ),
    path(
        "payments/<uuid:public_id>/cancel",
        api.PaymentCancelView.as_view(),
        name="api-payment-cancel",
    ),
    path(
        "payments/<uuid:public_id>/refunds",
        api.RefundListView.as_view(),
        name="api-payment-refunds",
    ),
    path("payments/<uuid:public_id>/review", api.ReviewView.as_view(), name="api-payment-review"),
]

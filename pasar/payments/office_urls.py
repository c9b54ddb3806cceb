"""The payments back office, mounted at /office/payments/ (namespace `payments_office`)."""

from django.urls import path

from pasar.payments import office_views as views

app_name = "payments_office"
urlpatterns = [
    path("", views.payment_list, name="payment_list"),
    path("new/", views.payment_new, name="payment_new"),
    path("<uuid:public_id>/", views.payment_detail, name="payment_detail"),
    path("<uuid:public_id>/refund/", views.payment_refund, name="payment_refund"),
    path("<uuid:public_id>/review/", views.payment_review, name="payment_review"),
    path("<uuid:public_id>/cancel/", views.payment_cancel, name="payment_cancel"),
    path("gateways/", views.gateway_settings, name="gateway_settings"),
    path("gateways/sandbox/enable/", views.sandbox_enable, name="sandbox_enable"),
    path("gateways/defaults/", views.payment_defaults_save, name="payment_defaults_save"),
    path("gateways/<str:gateway>/", views.gateway_save, name="gateway_save"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<uuid:public_id>/", views.webhook_detail, name="webhook_detail"),
]

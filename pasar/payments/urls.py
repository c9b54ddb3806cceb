from django.urls import path

from pasar.payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/<str:gateway>/<str:company>/", views.webhook, name="webhook"),
    path("pay/<uuid:company>/<uuid:payment>/", views.pay, name="pay"),
    path("pay/<uuid:company>/<uuid:payment>/qr.svg", views.pay_qr, name="pay_qr"),
    path("sandbox/<uuid:company>/<str:charge>/", views.sandbox_checkout, name="sandbox_checkout"),
]

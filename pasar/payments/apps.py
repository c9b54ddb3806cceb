from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "pasar.payments"
    label = "payments"

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "pasar.sales"
    label = "sales"

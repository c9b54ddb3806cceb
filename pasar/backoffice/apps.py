from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "pasar.backoffice"
    label = "backoffice"
    verbose_name = "Back office"

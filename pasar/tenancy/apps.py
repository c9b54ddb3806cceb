from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "pasar.tenancy"
    label = "tenancy"
    verbose_name = "Companies and people"

from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "pasar.storefront"
    label = "storefront"

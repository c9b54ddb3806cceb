from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "pasar.inventory"
    label = "inventory"

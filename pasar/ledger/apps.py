from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "pasar.ledger"
    label = "ledger"

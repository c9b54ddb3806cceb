from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "pasar.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from pasar.core import rls

        post_migrate.connect(rls.apply_row_level_security, sender=self, dispatch_uid="pasar-rls")

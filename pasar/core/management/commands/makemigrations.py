from typing import Any

from django.core.management.commands import makemigrations

from pasar.core.db.base import owner_mode


class Command(makemigrations.Command):
    """`makemigrations` reads the migration history as the owner role."""

    def handle(self, *app_labels: Any, **options: Any) -> None:
        with owner_mode():
            super().handle(*app_labels, **options)

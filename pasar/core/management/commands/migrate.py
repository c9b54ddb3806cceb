from typing import Any

from django.core.management.commands import migrate

from pasar.core.db.base import owner_mode


class Command(migrate.Command):
    """`migrate` run as the owner role: the app role may not change the schema."""

    def handle(self, *args: Any, **options: Any) -> None:
        with owner_mode(options["database"]):
            super().handle(*args, **options)

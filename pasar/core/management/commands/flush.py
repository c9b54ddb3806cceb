from typing import Any

from django.core.management.commands import flush

from pasar.core.db.base import owner_mode


class Command(flush.Command):
    """`flush` run as the owner role: the app role has no TRUNCATE right."""

    def handle(self, **options: Any) -> None:
        with owner_mode(options["database"]):
            super().handle(**options)

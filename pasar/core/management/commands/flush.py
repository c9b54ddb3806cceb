from typing import Any

from django.core.management.commands import flush

from pasar.core.db.base import owner_mode


class Command(flush.Command):
    """`flush` run as the owner role: the app role has no TRUNCATE right.

    Cascades because waffle's own migrations still create its default flag tables (we use
    tenancy.Flag instead), and they reference auth tables that a plain TRUNCATE must empty.
    """

    def handle(self, **options: Any) -> None:
        options["allow_cascade"] = True
        with owner_mode(options["database"]):
            super().handle(**options)

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from pasar.core.events import relay_pending


class Command(BaseCommand):
    help = (
        "Deliver pending outbox events to their handlers, without Celery. "
        "With --loop, keep relaying until stopped (Ctrl-C)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep relaying until stopped.")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds to wait when nothing was pending (with --loop). Default 5.",
        )
        parser.add_argument("--limit", type=int, default=100, help="Events per batch.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            while True:
                completed = self._relay_all(options["limit"])
                if completed:
                    self.stdout.write(f"Relayed {completed} event(s).")
                if not options["loop"]:
                    return
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    @staticmethod
    def _relay_all(limit: int) -> int:
        """Batches until one comes back short: then nothing else is ready now."""
        total = 0
        while (completed := relay_pending(limit=limit)) == limit:
            total += completed
        return total + completed

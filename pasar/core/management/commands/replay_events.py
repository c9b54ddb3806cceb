from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from pasar.core.events import replay_events


class Command(BaseCommand):
    help = (
        "Hand one handler every kept event of its topics since a date, as if it had been "
        "subscribed then (a context turned on later). Events it already had are skipped, so "
        "the command can be stopped and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--handler",
            required=True,
            help="The handler's dotted name, e.g. pasar.inventory.handlers."
            "notify_warehouse_of_low_stock.",
        )
        parser.add_argument(
            "--since",
            required=True,
            help="First day (Singapore date, YYYY-MM-DD) or ISO time to replay from.",
        )
        parser.add_argument("--batch", type=int, default=200, help="Events per transaction.")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _moment(options["since"])
        try:
            progress = None
            for progress in replay_events(
                handler=options["handler"], since=since, batch=options["batch"]
            ):
                self.stdout.write(
                    f"... {progress.delivered} delivered, {progress.already} already had, "
                    f"{progress.failed} failed (up to event #{progress.last_event_id})"
                )
        except LookupError as error:
            raise CommandError(str(error)) from None
        if progress is None:
            self.stdout.write("No event to replay.")
            return
        self.stdout.write(
            f"Done: {progress.delivered} delivered, {progress.already} already had, "
            f"{progress.failed} failed."
        )
        if progress.failed:
            raise CommandError("Some events failed; run the command again to retry them.")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r} is not a date (YYYY-MM-DD) or ISO time.") from None
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment

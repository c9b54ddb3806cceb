"""Background work of GST: the daily reminder that a return falls due."""

from celery import shared_task

from pasar.gst.services import reminders_send


@shared_task(name="pasar.gst.tasks.send_f5_reminders", ignore_result=True)
def send_f5_reminders() -> int:
    """Remind finance of returns due within two weeks; returns how many companies."""
    return reminders_send()

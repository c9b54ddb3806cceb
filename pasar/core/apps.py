from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "pasar.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from pasar.core import rls

        post_migrate.connect(rls.apply_row_level_security, sender=self, dispatch_uid="pasar-rls")
        self._connect_task_observers()

    def _connect_task_observers(self) -> None:
        from celery import signals as celery_signals

        from pasar.core import observability

        for signal, handler in (
            (celery_signals.task_success, observability.task_succeeded),
            (celery_signals.task_failure, observability.task_failed),
            (celery_signals.task_retry, observability.task_retried),
            (celery_signals.task_prerun, observability.task_started),
            (celery_signals.task_postrun, observability.task_finished),
            (celery_signals.worker_init, observability.serve_worker_metrics),
        ):
            signal.connect(handler, weak=False, dispatch_uid=f"pasar-{handler.__name__}")

"""Logging configuration: JSON lines through structlog, merged with the request's context.

Both structlog loggers (`structlog.get_logger()`) and plain `logging` loggers (Django, Celery,
libraries) end in the same handler, so every line is one JSON object carrying the context that
`pasar.core.observability` binds: request_id, method, path, user_id, company_id (or task_id and
task inside a Celery task).
"""

from typing import Any

import structlog

# Applied to every record, whichever logging API wrote it.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(level: str) -> dict[str, Any]:
    """Configure structlog and return the matching dict for Django's LOGGING setting."""
    structlog.configure(
        processors=[
            # Drop a disabled level before any work is done (probe access lines are DEBUG).
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
                # Records from plain `logging` calls: keep their `extra={...}` fields too.
                "foreign_pre_chain": [*SHARED_PROCESSORS, structlog.stdlib.ExtraAdder()],
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # runserver's own access lines repeat what pasar.access already writes.
            "django.server": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            # WeasyPrint logs each step of every PDF it makes at INFO.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
        },
    }

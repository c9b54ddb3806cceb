"""Who and where the current request comes from, for logs and the audit log.

Set by `pasar.core.observability.RequestIdMiddleware`; empty outside a request (tasks, commands).
"""

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("pasar_request_id", default="")
client_ip: ContextVar[str | None] = ContextVar("pasar_client_ip", default=None)

"""The audit log: append-only, hash-chained per company."""

from typing import Any


def audit_platform_access(*, reason: str, actor: Any) -> None:
    return None

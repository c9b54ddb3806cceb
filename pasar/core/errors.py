"""Domain errors: a stable machine code, a sentence a shop owner understands, an HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or []


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Forbidden(DomainError):
    code = "permission_denied"
    status = 403


class InvalidToken(DomainError):
    """A sign-in token that is forged, expired, revoked or of the wrong kind."""

    code = "invalid_token"
    status = 401

    def __init__(
        self,
        message: str = "Your sign-in token is not valid or has expired. "
        "Sign in again or refresh it.",
    ) -> None:
        super().__init__(message)

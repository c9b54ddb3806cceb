"""Gateway credentials at rest: encrypted with Fernet, shown again only as a hint.

The key is PAYMENT_CREDENTIALS_KEY (a Fernet key) or, when unset, one derived from
SECRET_KEY. Production sets its own key, so that rotating SECRET_KEY does not make every
stored credential unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

HINT_VISIBLE_CHARS = 4


def _fernet() -> Fernet:
    key = settings.PAYMENT_CREDENTIALS_KEY
    if not key:
        digest = hashlib.sha256(f"pasar.payments.credentials:{settings.SECRET_KEY}".encode())
        key = base64.urlsafe_b64encode(digest.digest()).decode()
    return Fernet(key)


def seal(credentials: Mapping[str, str]) -> str:
    return _fernet().encrypt(json.dumps(dict(credentials), sort_keys=True).encode()).decode()


class UnreadableCredentials(Exception):
    """Stored credentials that the current key cannot decrypt (the key changed)."""


def unseal(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as error:
        raise UnreadableCredentials(
            "The stored gateway credentials cannot be read with the current key; enter them again."
        ) from error
    return {str(name): str(value) for name, value in data.items()}


def hint(value: str, *, secret: bool) -> str:
    """What a settings page may show of a stored value."""
    if not secret:
        return value
    if len(value) <= HINT_VISIBLE_CHARS * 2:
        return "••••"
    return "••••" + value[-HINT_VISIBLE_CHARS:]

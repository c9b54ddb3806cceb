"""Singapore's own formats that several contexts check: one rule each."""

from __future__ import annotations

POSTAL_CODE_PATTERN = r"^[0-9]{6}$"  # the database's CHECK uses the same pattern
POSTAL_CODE_MESSAGE = "A Singapore postal code has six digits."


def is_postal_code(text: str) -> bool:
    """Six digits: every Singapore address has one (blank is for the caller to allow)."""
    return len(text) == 6 and text.isascii() and text.isdigit()

"""What every back-office form shares."""

from __future__ import annotations

from typing import ClassVar

from django import forms

from pasar.core.errors import DomainError


class ServiceForm(forms.Form):
    """A form whose data a service checks again: its DomainError lands next to the field."""

    # Error codes a service raises without naming a field, and the field they are about.
    service_error_fields: ClassVar[dict[str, str]] = {}

    def add_service_error(self, error: DomainError) -> None:
        """Show a service's refusal next to the fields it concerns, else above the form."""
        if field := self.service_error_fields.get(error.code):
            self.add_error(field, error.message)
            return
        placed = False
        for detail in error.details:
            field = detail.get("field") if isinstance(detail, dict) else None
            if field in self.fields:
                self.add_error(field, detail.get("message") or error.message)
                placed = True
        if not placed:
            self.add_error(None, error.message)

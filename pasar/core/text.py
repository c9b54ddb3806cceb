"""Text that may be stored: no control characters.

PostgreSQL refuses NUL in text outright (the statement fails), and the other C0 control
characters stored in a name or SKU break CSV exports, search and printed documents. So:

- `ControlCharacterMiddleware` refuses any request with a NUL in its query string or form or
  JSON fields at the edge, with a 400 (the API's error envelope under /api/), before anything
  reads the database;
- `has_control_characters` is the one check for stored text (names, descriptions, CSV
  cells): tab, line feed and carriage return are allowed, every other C0 character and DEL is
  not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INVALID_CHARACTERS_CODE = "invalid_characters"
JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def _fields_with_nul(request: HttpRequest) -> Iterable[str]:
    for name, value in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            yield name.replace("\x00", "") or "query"
    content_type = request.content_type or ""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    if content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        for name, values in request.POST.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                yield name.replace("\x00", "") or "form"
    elif content_type == "application/json":
        body = request.body
        if b"\x00" in body or JSON_NUL.search(body):
            yield "body"


class ControlCharacterMiddleware:
    """Refuses a request carrying NUL in its parameters with a 400; nothing runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = next(iter(_fields_with_nul(request)), None)
        if field is None:
            return self.get_response(request)
        message = f"'{field}' holds a NUL character, which cannot be accepted; remove it."
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "status": "error",
                    "error": {
                        "code": INVALID_CHARACTERS_CODE,
                        "message": message,
                        "details": [{"field": field, "message": message}],
                    },
                },
                status=400,
            )
        # Plain on purpose: this runs before sessions and sign-in, which the site's templates use.
        page = render_to_string("request_refused.html", {"message": message})
        return HttpResponse(page, status=400)

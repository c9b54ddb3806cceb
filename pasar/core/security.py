"""Login lockout answers."""

from typing import Any

from django.http import HttpRequest, JsonResponse


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse(
        {
            "status": "error",
            "error": {
                "code": "locked_out",
                "message": "Too many failed sign-in attempts. Try again in 15 minutes.",
                "details": [],
            },
        },
        status=429,
    )

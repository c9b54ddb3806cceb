"""The shape of every /api/v1/ answer: the success and error envelopes, and pagination.

success: {"status": "success", "data": ..., "meta": {...}}
error:   {"status": "error", "error": {"code", "message", "details": [...]}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken as JWTInvalidToken

from pasar.core.errors import DomainError, InvalidToken, NotFound


class EnvelopeRenderer(JSONRenderer):
    """Wraps successful payloads in the envelope; errors arrive already wrapped."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code == status.HTTP_204_NO_CONTENT:
            return b""
        already_wrapped = isinstance(data, dict) and data.get("status") in {"success", "error"}
        if not already_wrapped:
            data = {"status": "success", "data": data, "meta": {}}
        return super().render(data, accepted_media_type, renderer_context)


class PagePagination(PageNumberPagination):
    page_size_query_param = "per_page"
    max_page_size = 200

    def requested_window(self, request: Any) -> tuple[int, int]:
        """(offset, limit) of the page the request asks for: for a source that reads the page
        and its total together (`pasar.core.db.rows.CountedPage`). A page number that is not
        one reads from the start; the Paginator then answers it as usual."""
        size = self.get_page_size(request) or self.page_size or 1
        number = request.query_params.get(self.page_query_param, "1")
        page = int(number) if number.isdigit() else 1
        return (page - 1) * size if page > 0 else 0, size

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        return Response(
            {
                "status": "success",
                "data": data,
                "meta": {
                    "pagination": {
                        "page": self.page.number,
                        "per_page": paginator.per_page,
                        "total": paginator.count,
                        "pages": paginator.num_pages,
                    }
                },
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["status", "data", "meta"],
            "properties": {
                "status": {"type": "string", "enum": ["success"]},
                "data": schema,
                "meta": {
                    "type": "object",
                    "properties": {
                        "pagination": {
                            "type": "object",
                            "properties": {
                                name: {"type": "integer"}
                                for name in ("page", "per_page", "total", "pages")
                            },
                        }
                    },
                },
            },
        }


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {
        "status": "error",
        "error": {"code": code, "message": message, "details": details or []},
    }


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, str]]:
    """DRF's nested error detail as a flat list of {field, code, message}."""
    if isinstance(detail, dict):
        items: list[dict[str, str]] = []
        for key, value in detail.items():
            name = key if field is None else f"{field}.{key}"
            items.extend(_flatten(value, None if key == "non_field_errors" else name))
        return items
    if isinstance(detail, list):
        return [item for value in detail for item in _flatten(value, field)]
    code = getattr(detail, "code", "invalid")
    entry = {"code": str(code), "message": str(detail)}
    if field:
        entry["field"] = field
    return [entry]


CODE_BY_EXCEPTION: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported when first needed: DRF's views module reads the renderer setting, which names
    # this module, so importing it at load time is circular whenever DRF's system checks load
    # this module before anything else has loaded DRF's views.
    from rest_framework.views import exception_handler as handler

    return handler(exc, context)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, JWTInvalidToken):
        # simplejwt explains a bad token in its own terms; say it the way a person would.
        response = drf_exception_handler(exc, context)
        if response is not None:
            reason = InvalidToken()
            response.data = error_body(reason.code, reason.message)
        return response
    if isinstance(exc, exceptions.ParseError):
        response = drf_exception_handler(exc, context)
        if response is not None:
            response.data = error_body(
                "malformed_request",
                "The request body could not be read; send valid JSON.",
                [{"code": "parse_error", "message": str(exc.detail)}],
            )
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("That was not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response

    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        message = (
            details[0]["message"]
            if len(details) == 1
            else "Some of the information sent is not valid; see details."
        )
        if details and "field" in details[0] and len(details) == 1:
            message = f"{details[0]['field']}: {details[0]['message']}"
        response.data = error_body("invalid", message, details)
        return response

    code = next(
        (code for kind, code in CODE_BY_EXCEPTION.items() if isinstance(exc, kind)),
        str(getattr(exc, "default_code", "error")),
    )
    detail = exc.detail
    message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
    details = _flatten(detail) if isinstance(detail, dict | list) else []
    response.data = error_body(code, message, details)
    return response


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, naming them."""

    @classmethod
    def valid(cls, data: Any) -> Any:
        """`data` checked: its validated values, or DRF's ValidationError (a 400 naming each
        bad field)."""
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not accepted here."] for name in unknown}
                )
        return super().to_internal_value(data)


ERROR_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "A sentence for a person."},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}


def _is_envelope(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    # A body of its own may well have a "status" field; an envelope also has "data".
    return {"status", "data"} <= set(schema.get("properties", {}))


def envelope_schema_hook(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the schema shows the envelope that
    EnvelopeRenderer and exception_handler put around every answer, so generated clients
    read `data` where it really is."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorEnvelope"] = ERROR_ENVELOPE_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status_code, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json", {})
                if not str(status_code).startswith("2") or "schema" not in content:
                    continue
                if not _is_envelope(content["schema"], components):
                    content["schema"] = {
                        "type": "object",
                        "required": ["status", "data", "meta"],
                        "properties": {
                            "status": {"type": "string", "enum": ["success"]},
                            "data": content["schema"],
                            "meta": {"type": "object"},
                        },
                    }
    return result


class ApiTimesInUtcMiddleware:
    """Times in API answers are UTC and end in "Z" (ISO 8601); pages keep showing Singapore
    time. DRF writes datetimes in the active time zone, so /api/ requests activate UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        with timezone.override(UTC):
            return self.get_response(request)


def by_public_id[M: Model](queryset: QuerySet[M], public_id: Any, what: str) -> M:
    """The row of the current company with that public id, or a 404 naming `what`: also for
    another company's row (row-level security hides it) and for a malformed id."""
    try:
        return queryset.get(public_id=public_id)
    except (ObjectDoesNotExist, DjangoValidationError):
        raise NotFound(f"That {what} was not found in this company.") from None

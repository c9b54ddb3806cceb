"""What /api/schema/ says about each operation beyond its happy path: the errors it really
answers with, and an example of every request and response.

`PasarAutoSchema` (DRF's DEFAULT_SCHEMA_CLASS) adds to each operation the error statuses that
the request path can produce:

- 400 `invalid`, with field details, where there is a body or a query to get wrong;
- 401 `not_authenticated` unless the operation is open to anyone;
- 403 `permission_denied` for signed-in operations (the role does not allow it, or the token
  is for a company the user no longer belongs to);
- 404 `not_found` where the path names an object;
- 415 `unsupported_media_type` where there is a body, sent in another format;
- 409 with the codes a view lists in `schema_conflicts` (method -> {code: meaning});
- 429 `rate_limited` where the view is throttled.

`examples_schema_hook` (a postprocessing hook, after the envelope hook) then gives every JSON
request body and success response an example built from its schema, so a reader sees a whole
call without running one.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework.permissions import AllowAny

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
PAGINATION_PARAMETERS = frozenset({"page", "per_page"})


def _error(code: str, message: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "status": "error",
        "error": {"code": code, "message": message, "details": details or []},
    }


def _response(description: str, examples: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": ERROR_REF,
                "examples": {
                    name: {"summary": summary, "value": value}
                    for name, (summary, value) in examples.items()
                },
            }
        },
    }


class PasarAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with each operation's real error responses."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status, response in self._error_responses(operation).items():
            responses.setdefault(status, response)
        return operation

    def _is_public(self) -> bool:
        return any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
        errors: dict[str, dict[str, Any]] = {}
        serializer = self.get_request_serializer() if self.method in BODY_METHODS else None
        if isinstance(serializer, dict):  # per media type: {"multipart/form-data": X}
            serializer = next(iter(serializer.values()), None)
        has_body = serializer is not None
        query = [
            parameter["name"]
            for parameter in operation.get("parameters", [])
            if parameter.get("in") == "query" and parameter["name"] not in PAGINATION_PARAMETERS
        ]
        if has_body or query:
            # A field to name in the example: the body's first, else the first query one.
            body_fields = list(getattr(force_instance(serializer), "fields", None) or {})
            field = (body_fields or query or ["body"])[0]
            errors["400"] = _response(
                "The request is not valid: each problem is in `details`, by field.",
                {
                    "invalid": (
                        "A field is missing or wrong",
                        _error(
                            "invalid",
                            f"{field}: This field is required.",
                            [
                                {
                                    "field": field,
                                    "code": "required",
                                    "message": "This field is required.",
                                }
                            ],
                        ),
                    ),
                    **(
                        {
                            "malformed_request": (
                                "The body is not JSON",
                                _error(
                                    "malformed_request",
                                    "The request body could not be read; send valid JSON.",
                                ),
                            )
                        }
                        if has_body
                        else {}
                    ),
                },
            )
        if has_body:
            errors["415"] = _response(
                "The body is not in a format this operation reads (see its request body).",
                {
                    "unsupported_media_type": (
                        "Form data sent where JSON is expected",
                        _error(
                            "unsupported_media_type",
                            'Unsupported media type "text/plain" in request.',
                        ),
                    )
                },
            )
        if not self._is_public():
            errors["401"] = _response(
                "No valid credentials: send `Authorization: Bearer <access token>`.",
                {
                    "not_authenticated": (
                        "No token",
                        _error(
                            "not_authenticated", "Authentication credentials were not provided."
                        ),
                    ),
                    "invalid_token": (
                        "An expired or altered token",
                        _error(
                            "invalid_token",
                            "Your sign-in token is not valid or has expired. "
                            "Sign in again or refresh it.",
                        ),
                    ),
                },
            )
            errors["403"] = _response(
                "Signed in, but not allowed: the role does not permit this, or the token is "
                "for a company the user is not a member of.",
                {
                    "permission_denied": (
                        "The role does not allow it",
                        _error(
                            "permission_denied",
                            "You do not have permission to perform this action.",
                        ),
                    ),
                    "not_a_member": (
                        "Not a member of the token's company",
                        _error(
                            "not_a_member", "This token is for a company you are not a member of."
                        ),
                    ),
                },
            )
        if re.search(r"{[^}]+}", self.path):
            errors["404"] = _response(
                "Nothing with that id in the company the token acts for.",
                {"not_found": ("Unknown id", _error("not_found", "That was not found."))},
            )
        conflicts: dict[str, str] = getattr(self.view, "schema_conflicts", {}).get(
            self.method.lower(), {}
        )
        if conflicts:
            errors["409"] = _response(
                "Refused because of the state of things: "
                + "; ".join(f"`{code}`: {meaning}" for code, meaning in conflicts.items()),
                {code: (meaning, _error(code, meaning)) for code, meaning in conflicts.items()},
            )
        if getattr(self.view, "throttle_scope", None):
            errors["429"] = _response(
                "Too many attempts; `Retry-After` says when to try again.",
                {
                    "rate_limited": (
                        "Too many attempts",
                        _error(
                            "rate_limited",
                            "Request was throttled. Expected available in 60 seconds.",
                        ),
                    )
                },
            )
        return errors


# --- Examples from schemas ----------------------------------------------------------------------

FORMAT_EXAMPLES: dict[str, Any] = {
    "uuid": "3f9c2a4e-8d1b-4c7a-9e2f-5b6d7c8e9f01",
    "date-time": "2026-12-05T06:30:00Z",
    "date": "2026-12-05",
    "email": "owner@kopikakis.example",
    "uri": "https://shop.example/pay/return",
    "decimal": "19.90",
    "binary": "(file)",
}
NAME_EXAMPLES: dict[str, Any] = {
    "sku": "BEAN-250",
    "currency": "SGD",
    "reference": "SO-000123",
    "name": "House Blend Beans",
    "legal_name": "Kopi Kakis Pte. Ltd.",
    "uen": "201912345R",
    "barcode": "8881234567893",
    "password": "correct horse battery",
    "description": "2 bags of Sumatra beans",
    "reason": "1 bag arrived torn",
}
MONEY_NAMES = frozenset({"amount", "price", "cost", "unit_cost", "total", "refundable"})
MAX_DEPTH = 6


def example_of(
    schema: dict[str, Any], components: dict[str, Any], name: str = "", depth: int = 0
) -> Any:
    """A plausible value for `schema` (refs resolved through `components`)."""
    if depth > MAX_DEPTH:
        return None
    if "$ref" in schema:
        return example_of(
            components.get(schema["$ref"].rsplit("/", 1)[-1], {}), components, name, depth + 1
        )
    for key in ("example", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            parts = [example_of(part, components, name, depth + 1) for part in schema[combined]]
            merged = [part for part in parts if part is not None]
            if combined == "allOf" and all(isinstance(part, dict) for part in merged):
                return {key: value for part in merged for key, value in part.items()}
            return merged[0] if merged else None
    if "enum" in schema:
        values = [value for value in schema["enum"] if value is not None]
        return values[0] if values else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            prop: example_of(sub, components, prop, depth + 1)
            for prop, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        item = example_of(schema.get("items", {}), components, name, depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        if name in MONEY_NAMES or name.endswith(("_amount", "_price", "_cost")):
            return "19.90"
        if name in NAME_EXAMPLES:
            return NAME_EXAMPLES[name]
        if schema.get("format") in FORMAT_EXAMPLES:
            return FORMAT_EXAMPLES[schema["format"]]
        if schema.get("pattern", "").startswith("^-?\\d"):
            return "19.90"
        return name.replace("_", " ") or "text"
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1) if "minimum" in schema else 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return None


def examples_schema_hook(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Gives every JSON request body and success response an example made from its schema."""
    components = result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            bodies = list(operation.get("requestBody", {}).get("content", {}).values())
            for status, response in operation.get("responses", {}).items():
                if str(status).startswith("2"):
                    bodies.extend(response.get("content", {}).values())
            for media in bodies:
                if "schema" in media and "example" not in media and "examples" not in media:
                    media["example"] = example_of(media["schema"], components)
    return result

"""Calling a provider over HTTP, and turning what goes wrong into the gateway errors.

Every gateway maps failures the same way: a timeout, a connection failure, a 5xx or a 429 is
`GatewayUnavailable` (the next gateway may be tried); 401/403 is `GatewayCredentialsInvalid`;
any other 4xx is `GatewayRejected`. The provider's JSON answer is kept on the error as `raw`.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from pasar.payments.gateways.base import (
    GatewayCredentialsInvalid,
    GatewayRejected,
    GatewayUnavailable,
)

_clients: dict[str, httpx.Client] = {}
_clients_lock = threading.Lock()


def shared_client(provider: str) -> httpx.Client:
    """This process's client for one provider, made on the first call to it: its connections
    are reused across requests and threads, and it is closed when the process exits. Timeouts
    come from settings (read late, so importing is free)."""
    from django.conf import settings

    with _clients_lock:
        client = _clients.get(provider)
        if client is None or client.is_closed:
            client = _clients[provider] = httpx.Client(
                timeout=httpx.Timeout(
                    settings.PAYMENT_GATEWAY_TIMEOUT,
                    connect=settings.PAYMENT_GATEWAY_CONNECT_TIMEOUT,
                )
            )
        return client


@atexit.register
def close_shared_clients() -> None:
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def call(
    http: httpx.Client, method: str, url: str, *, provider: str, **request: Any
) -> dict[str, Any]:
    """Send one request and return the provider's JSON object, or raise a gateway error.

    `request` goes to `httpx.Client.request` as is (headers, data, json, params).
    """
    try:
        response = http.request(method, url, **request)
    except httpx.TimeoutException as exc:
        raise GatewayUnavailable(f"{provider} did not answer in time") from exc
    except httpx.TransportError as exc:
        raise GatewayUnavailable(f"{provider} could not be reached: {exc}") from exc

    answer = _json_object(response)
    status = response.status_code
    if 200 <= status < 300 and answer is not None:
        return answer

    raw: Mapping[str, Any] = (
        answer if answer is not None else {"http_status": status, "body": response.text[:1000]}
    )
    detail = _provider_message(raw)
    message = f"{provider} answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        raise GatewayCredentialsInvalid(message, raw=raw)
    if status == 429 or status >= 500:
        raise GatewayUnavailable(message, raw=raw)
    if status >= 400:
        raise GatewayRejected(message, raw=raw)
    # A success without a JSON object (a proxy's HTML page, say) or a redirect: nothing can be
    # read from it, so the provider counts as unavailable.
    raise GatewayUnavailable(message, raw=raw)


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value whatever the case its name arrived in ("" when absent)."""
    if name in headers:
        return headers[name]
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _provider_message(answer: Mapping[str, Any]) -> str:
    """The human sentence a provider put in its error: Stripe nests it, HitPay and 2C2P don't."""
    error = answer.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    for key in ("message", "respDesc"):
        if isinstance(answer.get(key), str):
            return str(answer[key])
    return ""

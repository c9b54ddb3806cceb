"""A fake provider for gateway tests: answers queued in order, every request kept to inspect."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx

Answer = httpx.Response | Exception


class FakeProvider:
    def __init__(self, *answers: Answer) -> None:
        self._answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.client = httpx.Client(transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self._answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def form(request: httpx.Request) -> dict[str, list[str]]:
    """A form-encoded request body, each field with all its values (`x[]` repeats)."""
    return parse_qs(request.content.decode(), keep_blank_values=True)

"""Refresh-token rotation under a race: one refresh token buys exactly one new pair."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from pasar.core.errors import InvalidToken
from pasar.tenancy import services
from pasar.tenancy.auth import tokens_for

ROUNDS = 5
RACERS = 2


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_refreshes_of_one_token_give_one_pair(company, owner) -> None:
    for _ in range(ROUNDS):
        refresh = tokens_for(user=owner, company=company)["refresh"]
        barrier = threading.Barrier(RACERS)
        outcomes: list[str] = []

        def refresh_once(
            token: str = refresh,
            start: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
        ) -> None:
            start.wait()
            try:
                services.token_pair_refresh(refresh=token)
                outcomes.append("new pair")
            except InvalidToken:
                outcomes.append("refused")
            finally:
                connection.close()

        racers = [threading.Thread(target=refresh_once) for _ in range(RACERS)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert sorted(outcomes) == ["new pair", "refused"]

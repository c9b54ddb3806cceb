"""Gapless document numbers: 20 writers at once get 1..n with no gap and no repeat, a rolled
back document gives its number back, and each company counts on its own."""

from __future__ import annotations

import time

import pytest

from pasar.core import numbering
from pasar.core.models import DocumentSequence
from pasar.core.tenant import tenant_context
from tests.concurrency import at_once
from tests.factories import CompanyFactory

TEST_PREFIX = numbering.register("TST", "numbering test document")
WRITERS = 20


class RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_twenty_writers_get_every_number_once_and_a_rollback_leaves_no_gap() -> None:
    company = CompanyFactory()

    def writer(index: int) -> str | None:
        with tenant_context(company):
            number = numbering.next_number(company=company, prefix=TEST_PREFIX)
            # Hold the number a moment, as a document's other writes would.
            time.sleep(0.01)
            if index % 5 == 0:
                raise RolledBack(number)
        return number

    outcomes = at_once(WRITERS, writer)
    kept = [outcome for outcome in outcomes if isinstance(outcome, str)]
    errors = [
        outcome
        for outcome in outcomes
        if isinstance(outcome, Exception) and not isinstance(outcome, RolledBack)
    ]
    assert errors == []
    assert sorted(kept) == [f"TST-{n:06d}" for n in range(1, len(kept) + 1)]
    assert len(kept) == WRITERS - WRITERS // 5
    with tenant_context(company):
        assert DocumentSequence.objects.get(prefix=TEST_PREFIX).last_number == len(kept)


@pytest.mark.django_db
def test_each_company_counts_on_its_own(company, other_company) -> None:
    with tenant_context(company):
        first = numbering.next_number(company=company, prefix=TEST_PREFIX)
        second = numbering.next_number(company=company, prefix=TEST_PREFIX)
    with tenant_context(other_company):
        theirs = numbering.next_number(company=other_company, prefix=TEST_PREFIX)
    assert (first, second, theirs) == ("TST-000001", "TST-000002", "TST-000001")


def test_a_prefix_numbers_one_kind_of_document() -> None:
    assert numbering.register("TST", "numbering test document") == "TST"
    with pytest.raises(ValueError, match="already numbers"):
        numbering.register("TST", "another document")
    with pytest.raises(ValueError, match="upper-case letters"):
        numbering.register("so-1", "sales order")
    with pytest.raises(numbering.UnknownPrefix):
        numbering.next_number(company=1, prefix="NOPE")
    assert {"GRN", "TRF", "CNT", "TST"} <= set(numbering.registered())

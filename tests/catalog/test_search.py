from __future__ import annotations

import pytest
from django.db import ProgrammingError, connection, transaction

from pasar.catalog import selectors, services
from pasar.core.tenant import tenant_context
from tests.catalog.helpers import ean13, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe_menu(company) -> None:
    product(
        company,
        "Cappuccino",
        {"sku": "CAP-R", "price": "4.50", "options": {"size": "Regular"}},
        {"sku": "CAP-L", "price": "5.20", "options": {"size": "Large"}},
    )
    product(company, "Iced Latte", {"sku": "LAT-12", "price": "5.80"})
    product(company, "Latte Glass LAT-1 set", {"sku": "GLS-2", "price": "24.00"})
    product(company, "Caffe Latte", {"sku": "LAT-1", "price": "5.00"})
    product(
        company,
        "Kaya Toast",
        {"sku": "TOAST-1", "price": "2.80", "barcode": ean13("888123456789")},
    )


def search(company, query: str, limit: int = 20) -> list[str]:
    with tenant_context(company):
        hits = selectors.variant_search(company=company, query=query, limit=limit)
    return [hit.variant.sku for hit in hits]


def test_exact_sku_comes_first(company, cafe_menu) -> None:
    results = search(company, "LAT-1")
    assert results[0] == "LAT-1"
    assert {"LAT-12", "GLS-2"} <= set(results)
    assert search(company, "lat-1")[0] == "LAT-1"


def test_exact_barcode_finds_its_variant_first(company, cafe_menu) -> None:
    assert search(company, ean13("888123456789")) == ["TOAST-1"]


def test_a_typo_finds_the_product_by_trigram(company, cafe_menu) -> None:
    assert set(search(company, "cappucino")) == {"CAP-R", "CAP-L"}


def test_word_prefixes_and_option_values_match(company, cafe_menu) -> None:
    assert set(search(company, "capp")) == {"CAP-R", "CAP-L"}
    assert search(company, "cappuccino large")[0] == "CAP-L"
    assert search(company, "iced lat") == ["LAT-12"]


def test_better_matches_rank_higher(company, cafe_menu) -> None:
    results = search(company, "latte")
    assert set(results[:3]) == {"LAT-12", "LAT-1", "GLS-2"}
    assert "CAP-R" not in results


def test_archived_variants_and_other_companies_are_not_found(
    company, other_company, cafe_menu
) -> None:
    product(other_company, "Cappuccino", {"sku": "THEIR-CAP", "price": "4.00"})
    with tenant_context(company):
        large = (
            selectors.product_list(company=company).get(name="Cappuccino").variants.get(sku="CAP-L")
        )
    services.variant_update(variant=large, status="archived")
    assert search(company, "cappuccino") == ["CAP-R"]


def test_blank_query_finds_nothing_and_limit_is_kept(company, cafe_menu) -> None:
    assert search(company, "   ") == []
    assert len(search(company, "a", limit=2)) <= 2


def test_archiving_a_product_hides_its_variants_and_restoring_shows_them(
    company, cafe_menu
) -> None:
    with tenant_context(company):
        cappuccino = selectors.product_list(company=company).get(name="Cappuccino")
    services.product_update(product=cappuccino, status="archived")
    assert search(company, "cappuccino") == []
    services.product_update(product=cappuccino, status="active")
    assert set(search(company, "cappuccino")) == {"CAP-R", "CAP-L"}


def test_a_renamed_or_deleted_variant_is_found_by_its_new_name_only(company, cafe_menu) -> None:
    with tenant_context(company):
        toast = selectors.product_list(company=company).get(name="Kaya Toast")
    services.product_update(product=toast, name="Kaya Butter Toast")
    assert search(company, "butter") == ["TOAST-1"]
    services.product_delete(product=toast)
    assert search(company, "toast") == []


def test_the_app_cannot_read_the_search_index_directly(company, cafe_menu) -> None:
    with (
        tenant_context(company),
        connection.cursor() as cursor,
        pytest.raises(ProgrammingError),
        transaction.atomic(),
    ):
        cursor.execute("SELECT count(*) FROM catalog_search.variant")


def test_search_sees_nothing_outside_a_company_context(company, cafe_menu) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM catalog_variant_search('kopi', NULL, ARRAY['kopi'], NULL, 20)"
        )
        assert cursor.fetchone()[0] == 0


def test_near_spellings_are_offered_only_when_no_word_matches(company, cafe_menu) -> None:
    product(company, "Capuccino Cup", {"sku": "CUP-1", "price": "8.00"})
    with tenant_context(company):
        spelled_as_the_cup = selectors.variant_search(company=company, query="capuccino")
        typo = selectors.variant_search(company=company, query="capucino")
    assert [(hit.variant.sku, hit.match) for hit in spelled_as_the_cup] == [("CUP-1", "words")]
    assert "CUP-1" in {hit.variant.sku for hit in typo}
    assert {hit.match for hit in typo} == {"similar"}


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("Kopi <limited> Blend", ["limited", "kopi blend", "blend limited"]),
        ("Mug <Limited Edition> Blue", ["edition", "mug blue", "limited edition"]),
        ("Tom &amp; Jerry Mug", ["jerry", "tom mug"]),
        ("Teh <b>Tarik</b> 5<6>2", ["tarik", "teh"]),
    ],
)
def test_words_in_angle_brackets_and_entities_are_still_words(
    company, name: str, queries: list[str]
) -> None:
    product(company, name, {"sku": "ODD-1", "price": "3.00"})
    for query in queries:
        assert search(company, query) == ["ODD-1"], query

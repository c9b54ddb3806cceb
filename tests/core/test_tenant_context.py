import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pasar.core.tenant import TenantNotSet, tenant_context, tenant_rows, user_context
from pasar.tenancy.models import Membership
from tests.factories import MembershipFactory


@pytest.mark.django_db
def test_app_runs_as_a_role_that_owns_no_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "pasar_app"


@pytest.mark.django_db
def test_unscoped_query_on_tenant_model_raises(company) -> None:
    with pytest.raises(TenantNotSet):
        Membership.objects.count()


@pytest.mark.django_db
def test_each_company_sees_only_its_own_rows(company, other_company) -> None:
    mine = MembershipFactory(company=company)
    MembershipFactory(company=other_company)
    with tenant_context(company):
        assert list(Membership.objects.values_list("pk", flat=True)) == [mine.pk]


@pytest.mark.django_db
def test_nested_context_restores_the_outer_company(company, other_company) -> None:
    MembershipFactory(company=company)
    MembershipFactory(company=other_company)
    with tenant_context(company):
        with tenant_context(other_company):
            pass
        with connection.cursor() as cursor:
            cursor.execute("SELECT company_id FROM tenancy_membership")
            assert {row[0] for row in cursor.fetchall()} == {company.pk}


@pytest.mark.django_db
def test_user_sees_own_memberships_across_companies(company, other_company) -> None:
    first = MembershipFactory(company=company)
    MembershipFactory(company=other_company, user=first.user)
    MembershipFactory(company=other_company)
    with user_context(first.user):
        assert Membership.objects.of_user(first.user).count() == 2
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenancy_membership")
            assert cursor.fetchone()[0] == 2


def _statements(block) -> list[str]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        block()
    return [query["sql"].split()[0] for query in captured.captured_queries]


@pytest.mark.django_db
def test_inside_an_all_or_nothing_block_a_nested_context_takes_no_savepoint(company) -> None:
    """(The outer block is itself a savepoint here: the test runs inside a transaction.)"""

    def nested(*, all_or_nothing: bool) -> None:
        with (
            tenant_context(company, all_or_nothing=all_or_nothing),
            tenant_context(company),
            tenant_context(company),
        ):
            Membership.objects.count()

    assert _statements(lambda: nested(all_or_nothing=False)).count("SAVEPOINT") == 3
    assert _statements(lambda: nested(all_or_nothing=True)).count("SAVEPOINT") == 1


@pytest.mark.django_db
def test_an_error_in_an_all_or_nothing_block_undoes_all_of_it(company) -> None:
    """Caught inside, the error still ends the block: going on is refused, and nothing the
    block wrote is kept."""
    from django.db.transaction import TransactionManagementError

    before = MembershipFactory(company=company).pk

    def carry_on_after_a_caught_error() -> None:
        with tenant_context(company, all_or_nothing=True):
            Membership.objects.filter(pk=before).delete()
            try:
                with tenant_context(company):
                    raise ValueError("refused")
            except ValueError:
                pass
            Membership.objects.count()

    with pytest.raises(TransactionManagementError):
        carry_on_after_a_caught_error()
    with tenant_context(company):
        assert Membership.objects.filter(pk=before).exists()


@pytest.mark.django_db
def test_the_all_or_nothing_rule_ends_with_its_company(company, other_company) -> None:
    """Another company's context inside keeps its own savepoints, and the rule is gone after
    the block."""

    def block() -> None:
        with (
            tenant_context(company, all_or_nothing=True),
            tenant_context(other_company),
            tenant_context(other_company),
        ):
            pass
        with tenant_context(company), tenant_context(company):
            pass

    assert _statements(block).count("SAVEPOINT") == 1 + 2 + 2


def _visible_memberships() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT company_id FROM tenancy_membership")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_tenant_rows_enters_the_company_with_the_statement_in_one_round_trip(
    company, other_company
) -> None:
    mine = MembershipFactory(company=company)
    MembershipFactory(company=other_company)
    with CaptureQueriesContext(connection) as sent:
        found = tenant_rows(company, "SELECT id FROM tenancy_membership WHERE id > %s", [0])
    assert found == [(mine.pk,)]
    assert len(sent.captured_queries) == 1
    # The context ended with the message: the next statement acts for nobody.
    assert _visible_memberships() == set()


@pytest.mark.django_db
def test_tenant_rows_inside_a_context_reads_the_named_company_and_gives_the_context_back(
    company, other_company
) -> None:
    MembershipFactory(company=company)
    theirs = MembershipFactory(company=other_company)
    with tenant_context(company):
        found = tenant_rows(other_company, "SELECT id FROM tenancy_membership")
        assert _visible_memberships() == {company.pk}
    assert found == [(theirs.pk,)]

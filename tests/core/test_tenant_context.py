import pytest
from django.db import connection

from pasar.core.tenant import TenantNotSet, tenant_context, user_context
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

from __future__ import annotations

import os
from typing import Any

import pytest
from rest_framework.test import APIClient

from pasar.tenancy.auth import tokens_for
from pasar.tenancy.models import Company, Role, User
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

REQUIRE_REDIS = os.environ.get("PASAR_REQUIRE_REDIS") == "1"
_skipped_redis_tests: list[str] = []


@pytest.fixture
def company(db: None) -> Company:
    return CompanyFactory(legal_name="Kopi Test Pte. Ltd.")


@pytest.fixture
def other_company(db: None) -> Company:
    return CompanyFactory(legal_name="Other Brew Pte. Ltd.")


@pytest.fixture
def owner(company: Company) -> User:
    user = UserFactory(email="owner@kopitest.example")
    MembershipFactory(company=company, user=user, role=Role.OWNER)
    return user


def member(company: Company, role: str) -> User:
    user = UserFactory()
    MembershipFactory(company=company, user=user, role=role)
    return user


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def authenticated_client(user: User, company: Company | None) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {tokens_for(user=user, company=company)['access']}"
    )
    return client


@pytest.fixture
def owner_client(owner: User, company: Company) -> APIClient:
    return authenticated_client(owner, company)


@pytest.fixture
def redis_url() -> str:
    """A real Redis. Without REDIS_URL the test is skipped, except in CI where that fails."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if REQUIRE_REDIS:
            pytest.fail("REDIS_URL is not set but PASAR_REQUIRE_REDIS=1: Redis tests must run.")
        pytest.skip("REDIS_URL is not set")
    return url


def pytest_runtest_logreport(report: Any) -> None:
    if report.skipped and "redis" in report.keywords:
        _skipped_redis_tests.append(report.nodeid)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if REQUIRE_REDIS and _skipped_redis_tests:
        print(f"\nRedis tests were skipped but must run: {_skipped_redis_tests}")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest, settings: Any) -> None:
    """argon2 is deliberately slow; tests that check it is used are marked `argon2`."""
    if request.node.get_closest_marker("argon2") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    from django.core.cache import cache

    from pasar.tenancy.selectors import identity_memory

    cache.clear()
    identity_memory.clear()

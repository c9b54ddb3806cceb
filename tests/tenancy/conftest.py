import pytest

from tests.factories import LocationFactory


@pytest.fixture
def two_shops(company, other_company):
    """One location in each of two companies."""
    mine = LocationFactory(company=company, name="Tiong Bahru")
    theirs = LocationFactory(company=other_company, name="Jurong")
    return mine, theirs

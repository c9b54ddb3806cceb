"""Sets up the benchmark's shop through the app's own services and writes the owner's JWT.

Run against the freshly migrated benchmark database:
`python -m bench.prepare <token file>`. The access token carries the company claim, so
`GET /api/v1/me` runs the full tenant path: JWT, membership check, tenant context, RLS.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import django

OWNER_EMAIL = "owner@benchkopi.example"
COMPANY_NAME = "Bench Kopi Pte. Ltd."
COMPANY_UEN = "202400042R"  # a well-formed local-company UEN with a correct check letter
SHOP_SLUG = "bench-kopi"


def main(token_file: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()

    from pasar.tenancy.auth import tokens_for
    from pasar.tenancy.services import company_onboard, user_register

    owner = user_register(
        email=OWNER_EMAIL, password=secrets.token_urlsafe(24), full_name="Bench Owner"
    )
    company = company_onboard(
        owner=owner, legal_name=COMPANY_NAME, uen=COMPANY_UEN, shop_slug=SHOP_SLUG
    )
    token_file.write_text(tokens_for(user=owner, company=company)["access"])
    token_file.chmod(0o600)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.prepare <token file>")
    main(Path(sys.argv[1]))

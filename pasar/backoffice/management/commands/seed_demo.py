"""`manage.py seed_demo`: the demo companies, their staff and locations. Safe to run again.

Two companies show the tenant walls: Kopi Kakis (every staff role has a login) and Lion
Brew. Every login's password is "pasar-demo". Companies, staff and locations are added
through the same services the pages use; only the demo's weak shared password skips the
sign-up service's strength check, so the users are made with the model manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from stdnum.sg import uen as stdnum_uen

from pasar.core.tenant import tenant_context, user_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import Location, LocationKind
from pasar.tenancy import services as tenancy_services
from pasar.tenancy.models import Company, Membership, Role, User

DEMO_PASSWORD = "pasar-demo"  # noqa: S105 - published demo login, shown by `make demo`
PLATFORM_STAFF_EMAIL = "platform@pasar.example"
SILENT_MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}


def local_company_uen(year: int, serial: int) -> str:
    """An ACRA-style local company UEN (yyyynnnnnX) with a correct check letter."""
    body = f"{year}{serial:05d}"
    return body + stdnum_uen.calc_local_company_check_digit(body)


@dataclass(frozen=True)
class DemoLocation:
    name: str
    kind: str
    address_line1: str
    postal_code: str


@dataclass(frozen=True)
class DemoCompany:
    legal_name: str
    shop_slug: str
    uen: str
    gst_registered: bool
    address_line1: str
    address_line2: str
    postal_code: str
    # role -> (email, full name); the owner comes first and onboards the company.
    staff: dict[Role, tuple[str, str]]
    locations: list[DemoLocation] = field(default_factory=list)


KOPI_KAKIS_UEN = local_company_uen(2018, 12345)
DEMO_COMPANIES = [
    DemoCompany(
        legal_name="Kopi Kakis Pte. Ltd.",
        shop_slug="kopi-kakis",
        uen=KOPI_KAKIS_UEN,
        gst_registered=True,
        address_line1="78 Yong Siak Street",
        address_line2="#01-12",
        postal_code="163078",
        staff={
            Role.OWNER: ("owner@kopikakis.example", "Tan Mei Ling"),
            Role.ADMIN: ("admin@kopikakis.example", "Arjun Nair"),
            Role.FINANCE: ("finance@kopikakis.example", "Siti Rahman"),
            Role.WAREHOUSE: ("warehouse@kopikakis.example", "Lim Wei Jie"),
            Role.SALES: ("sales@kopikakis.example", "Farah Yusof"),
        },
        locations=[
            DemoLocation("Tiong Bahru Cafe", LocationKind.STORE, "78 Yong Siak Street", "163078"),
            DemoLocation(
                "Jurong Warehouse", LocationKind.WAREHOUSE, "21 Jurong Port Road", "619113"
            ),
        ],
    ),
    DemoCompany(
        legal_name="Lion Brew Pte. Ltd.",
        shop_slug="lion-brew",
        uen=local_company_uen(2020, 54321),
        gst_registered=False,
        address_line1="18 Boon Tat Street",
        address_line2="",
        postal_code="069620",
        staff={Role.OWNER: ("owner@lionbrew.example", "Daniel Koh")},
        locations=[
            DemoLocation("Lion Brew Taproom", LocationKind.STORE, "18 Boon Tat Street", "069620")
        ],
    ),
]


class Command(BaseCommand):
    help = "Adds the demo companies, staff logins and locations (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.created: list[str] = []
        # The invitations that bring staff in would email each demo address; drop those
        # emails rather than print them over the demo's start-up output.
        with override_settings(MAILERS=SILENT_MAILERS), transaction.atomic():
            for demo in DEMO_COMPANIES:
                self._seed_company(demo)
            self._platform_staff()

        if not self.created:
            self.stdout.write("Demo data is already in place; nothing was added.")
            return
        self.stdout.write("Demo data added:")
        for line in self.created:
            self.stdout.write(f"  {line}")
        self.stdout.write(f'Every demo login uses the password "{DEMO_PASSWORD}".')

    def _user(self, email: str, full_name: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name, **extra)
        return user

    def _seed_company(self, demo: DemoCompany) -> None:
        owner_email, owner_name = demo.staff[Role.OWNER]
        owner = self._user(owner_email, owner_name)
        company = self._company(demo, owner)
        for role, (email, full_name) in demo.staff.items():
            if role != Role.OWNER:
                self._member(company, owner, self._user(email, full_name), role)
        with tenant_context(company, user=owner):
            for location in demo.locations:
                if not Location.objects.filter(name=location.name).exists():
                    inventory_services.location_create(
                        company=company,
                        name=location.name,
                        kind=location.kind,
                        address_line1=location.address_line1,
                        postal_code=location.postal_code,
                    )
                    self.created.append(f"{location.name} ({location.kind}) of {demo.legal_name}")

    def _company(self, demo: DemoCompany, owner: User) -> Company:
        company = Company.objects.filter(shop_slug=demo.shop_slug).first()
        if company is not None:
            if company.uen != demo.uen:
                raise CommandError(
                    f"The shop address {demo.shop_slug} belongs to UEN {company.uen}, not the "
                    f"demo's {demo.uen}. Use a fresh database for the demo."
                )
            return company
        company = tenancy_services.company_onboard(
            owner=owner,
            legal_name=demo.legal_name,
            uen=demo.uen,
            gst_registered=demo.gst_registered,
            # Many Singapore companies' GST registration number is their UEN.
            gst_number=demo.uen if demo.gst_registered else "",
            address_line1=demo.address_line1,
            address_line2=demo.address_line2,
            postal_code=demo.postal_code,
            shop_slug=demo.shop_slug,
        )
        self.created.append(
            f"{company.legal_name}: UEN {company.uen}, shop {company.shop_slug}, "
            f"owner {owner.email}"
        )
        return company

    def _member(self, company: Company, owner: User, user: User, role: Role) -> None:
        with user_context(user):
            if Membership.objects.of_user(user).filter(company=company).exists():
                return
        # Staff join as real staff do: the owner invites, the person accepts.
        _invitation, token = tenancy_services.invitation_create(
            company=company, invited_by=owner, email=user.email, role=role
        )
        tenancy_services.invitation_accept(
            company_public_id=str(company.public_id), token=token, user=user
        )
        self.created.append(f"{user.email} joins {company.legal_name} as {role.label.lower()}")

    def _platform_staff(self) -> None:
        """Platform staff: uses /admin/ across companies through the audited bypass."""
        if not User.objects.filter(email=PLATFORM_STAFF_EMAIL).exists():
            self._user(
                PLATFORM_STAFF_EMAIL, "Pasar Platform Support", is_staff=True, is_superuser=True
            )
            self.created.append(f"{PLATFORM_STAFF_EMAIL}: platform staff, signs in at /admin/")

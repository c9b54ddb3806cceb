"""Companies (the tenants), the people who work in them, and the shoppers who buy from them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.sg import uen as stdnum_uen

from pasar.core.singapore import POSTAL_CODE_MESSAGE, POSTAL_CODE_PATTERN, is_postal_code
from pasar.core.tenant import PublicIdMixin, TenantManager, TenantModel
from pasar.tenancy.flags import AbstractCompanyFlag

UEN_ERRORS = {
    "InvalidLength": "A UEN has 9 or 10 characters, for example 201912345R.",
    "InvalidFormat": "That UEN has letters or digits in the wrong places.",
    "InvalidComponent": "That UEN has an unknown entity type or a year in the future.",
    "InvalidChecksum": "That UEN's check letter is wrong; check it against your ACRA record.",
}


def normalise_uen(value: str) -> str:
    """The UEN in its compact form, or ValidationError with a sentence an owner understands."""
    try:
        return str(stdnum_uen.validate(value))
    except StdnumValidationError as error:
        message = UEN_ERRORS.get(type(error).__name__, "That is not a valid UEN.")
        raise ValidationError(message, code="invalid_uen") from error


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(PublicIdMixin, AbstractBaseUser, PermissionsMixin):
    """A person who works in one or more companies. Logs in by email. Never a shopper."""

    # A person and a company exist once on the platform: their public ids are unique outright.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    # Moves on every change to the user, and to their memberships, by database triggers
    # (tenancy migration 0003): a request that reuses what an earlier one read about the user
    # checks it against this number first (selectors.enter_remembered_identity).
    identity_version = models.BigIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Platform staff: may use the admin across companies."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the person opens the link mailed to them; live payments wait for it.
    email_verified_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


class GstPeriod(models.TextChoices):
    QUARTERLY = "quarterly", "Quarterly"
    MONTHLY = "monthly", "Monthly"


class Company(PublicIdMixin, models.Model):
    """A tenant: one Singapore business. Everything it owns carries its company_id."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    # Moves on every change to the company, by a database trigger, as the user's does.
    identity_version = models.BigIntegerField(default=0, editable=False)
    legal_name = models.CharField(max_length=200)
    uen = models.CharField("UEN", max_length=10, unique=True)
    gst_registered = models.BooleanField(default=False)
    gst_number = models.CharField("GST registration number", max_length=20, blank=True)
    gst_period = models.CharField(
        max_length=10, choices=GstPeriod.choices, default=GstPeriod.QUARTERLY
    )
    gst_period_start_month = models.PositiveSmallIntegerField(
        default=1, help_text="The month (1-12) in which the first GST accounting period starts."
    )
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=6, blank=True)
    country = models.CharField(max_length=2, default="SG", editable=False)
    timezone = models.CharField(max_length=32, default="Asia/Singapore", editable=False)
    currency = models.CharField(max_length=3, default="SGD", editable=False)
    shop_slug = models.SlugField(max_length=60, unique=True)
    # The shop's own domain (shop.example.sg), which shows its storefront; blank for none.
    shop_domain = models.CharField(max_length=253, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=models.Q(gst_period_start_month__gte=1)
                & models.Q(gst_period_start_month__lte=12),
                name="company_gst_period_start_month_valid",
            ),
            models.UniqueConstraint(
                fields=["shop_domain"],
                condition=~models.Q(shop_domain=""),
                name="company_shop_domain_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(gst_registered=False) | ~models.Q(gst_number=""),
                name="company_gst_number_when_registered",
            ),
            models.CheckConstraint(
                condition=models.Q(postal_code="")
                | models.Q(postal_code__regex=POSTAL_CODE_PATTERN),
                name="company_postal_code_six_digits",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        self.uen = normalise_uen(self.uen)
        if self.gst_registered and not self.gst_number:
            raise ValidationError(
                {"gst_number": "A GST-registered company needs its GST registration number."}
            )
        if self.postal_code and not is_postal_code(self.postal_code):
            raise ValidationError({"postal_code": POSTAL_CODE_MESSAGE})


class MembershipManager(TenantManager):
    def of_user(self, user: User) -> models.QuerySet[Membership]:
        """A user's own memberships across companies (RLS allows these in user_context)."""
        return models.QuerySet(self.model, using=self._db).filter(user=user)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    FINANCE = "finance", "Finance"
    WAREHOUSE = "warehouse", "Warehouse"
    SALES = "sales", "Sales"


class Membership(PublicIdMixin, TenantModel):
    """Gives one user one role in one company."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[MembershipManager] = MembershipManager()

    # A signed-in user may list their own memberships across companies (to switch between them).
    rls_extra_read_condition = "user_id = {current_user_id}"

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "user"], name="membership_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.company}"


class Invitation(PublicIdMixin, TenantModel):
    """An emailed invitation to join a company in a role; the link carries a secret token."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["company", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} as {self.role}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_open(self) -> bool:
        """Still lets someone in: not accepted, not revoked, not expired (as `open_at`)."""
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @staticmethod
    def open_at(now: datetime) -> models.Q:
        """The invitations that are open at `now`, as a filter; `is_open` for one."""
        return models.Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)


class Shopper(PublicIdMixin, TenantModel):
    """A customer account of one company's shop. Never staff: no back office login."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="shoppers")
    email = models.EmailField()
    full_name = models.CharField(max_length=150, blank=True)
    password = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "email"], name="shopper_email_per_shop"),
        ]

    def __str__(self) -> str:
        return self.email


class Flag(AbstractCompanyFlag):
    """A feature flag that can be switched on for chosen companies (waffle's flag, extended)."""

    companies = models.ManyToManyField(
        Company, blank=True, related_name="flags", help_text="Companies that have this feature."
    )
    # Which companies have a feature is the platform's to decide: readable by everyone,
    # written only under platform access (see pasar.core.rls).
    rls_platform_written_relations = ("companies",)

    class Meta(AbstractCompanyFlag.Meta):
        verbose_name = gettext_lazy("feature flag")

"""Promotions: which apply to a cart, what each takes off, and how they are kept and counted.

`evaluate` is pure: given the promotions a shop has, the lines and the codes the shopper typed,
it says what comes off each line, off the order and whether delivery is free. Placing an order
counts the uses under a lock (`redeem`), so a limit of 100 is never passed by the 101st.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from pasar.catalog.models import Category, Product
from pasar.core.audit import audit_record
from pasar.core.db import rows
from pasar.core.errors import Conflict, DomainError
from pasar.core.money import CENT, parse_money
from pasar.core.tenant import is_public_id, tenant_context
from pasar.inventory import selectors as inventory_selectors
from pasar.sales.models import (
    Order,
    Promotion,
    PromotionCategory,
    PromotionKind,
    PromotionProduct,
    PromotionRedemption,
    PromotionScope,
)
from pasar.sales.pricing import spread
from pasar.tenancy.models import Company, User

ZERO = Decimal(0)
MAX_CODES = 5


class InvalidPromotion(DomainError):
    code = "invalid_promotion"


class PromotionUnavailable(Conflict):
    code = "promotion_unavailable"


@dataclass(frozen=True)
class PromotedLine:
    """A line as promotions see it: what it is and what it costs (GST-inclusive)."""

    key: str
    product_id: int
    category_id: int | None
    gross: Decimal


@dataclass(frozen=True)
class Applied:
    promotion: Promotion
    amount: Decimal


@dataclass
class Outcome:
    line_discounts: dict[str, Decimal] = field(default_factory=dict)
    order_discount: Decimal = ZERO
    free_shipping: bool = False
    applied: list[Applied] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # code typed -> why not

    @property
    def discount(self) -> Decimal:
        return sum(self.line_discounts.values(), ZERO) + self.order_discount


def normal_code(code: str) -> str:
    return "".join(str(code or "").split()).upper()


def _eligible(promotion: Promotion, line: PromotedLine, scope_ids: Mapping[int, set[int]]) -> bool:
    if promotion.scope == PromotionScope.PRODUCTS:
        return line.product_id in scope_ids.get(promotion.pk, set())
    if promotion.scope == PromotionScope.CATEGORIES:
        return line.category_id in scope_ids.get(promotion.pk, set())
    return True


def _why_not(
    promotion: Promotion,
    lines: Sequence[PromotedLine],
    scope_ids: Mapping[int, set[int]],
    now: datetime,
    uses_by_customer: Mapping[int, int],
) -> str | None:
    """Why the promotion does not apply to these lines now, or None when it does."""
    label = promotion.code or promotion.name
    if not promotion.is_active:
        return f"{label} is not available."
    if promotion.starts_at is not None and now < promotion.starts_at:
        return f"{label} starts on {timezone.localtime(promotion.starts_at):%-d %b %Y}."
    if promotion.ends_at is not None and now >= promotion.ends_at:
        return f"{label} has expired."
    if promotion.usage_limit is not None and promotion.times_used >= promotion.usage_limit:
        return f"{label} has been fully used."
    limit = promotion.per_customer_limit
    if limit is not None and uses_by_customer.get(promotion.pk, 0) >= limit:
        return f"You have already used {label}."
    eligible = [line for line in lines if _eligible(promotion, line, scope_ids)]
    if not eligible:
        return f"{label} does not apply to anything in your cart."
    spend = sum((line.gross for line in eligible), ZERO)
    if spend < promotion.min_spend:
        return f"Spend S${promotion.min_spend:,.2f} on eligible items to use {label}."
    return None


def _apply(
    chosen: Sequence[Promotion],
    lines: Sequence[PromotedLine],
    scope_ids: Mapping[int, set[int]],
) -> Outcome:
    """Take the chosen promotions off the lines in turn, line offers before order offers,
    each on what earlier ones left, never below zero."""
    left = {line.key: line.gross for line in lines}
    outcome = Outcome(line_discounts=dict.fromkeys(left, ZERO))
    ordered = sorted(chosen, key=lambda p: (p.scope == PromotionScope.ORDER, p.pk or 0))
    for promotion in ordered:
        if promotion.kind == PromotionKind.FREE_SHIPPING:
            outcome.free_shipping = True
            outcome.applied.append(Applied(promotion, ZERO))
            continue
        eligible = [line.key for line in lines if _eligible(promotion, line, scope_ids)]
        base = sum((left[key] for key in eligible), ZERO)
        if promotion.kind == PromotionKind.PERCENTAGE:
            amount = (base * promotion.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            amount = promotion.value
        amount = min(amount, base)
        if amount <= 0:
            continue
        shares = spread(amount, [left[key] for key in eligible])
        for key, share in zip(eligible, shares, strict=True):
            left[key] -= share
            if promotion.scope != PromotionScope.ORDER:
                outcome.line_discounts[key] += share
        if promotion.scope == PromotionScope.ORDER:
            outcome.order_discount += amount
        outcome.applied.append(Applied(promotion, amount))
    return outcome


def evaluate(
    promotions: Iterable[Promotion],
    lines: Sequence[PromotedLine],
    *,
    codes: Sequence[str],
    now: datetime,
    scope_ids: Mapping[int, set[int]],
    uses_by_customer: Mapping[int, int] | None = None,
) -> Outcome:
    """What the shop's promotions take off these lines.

    Candidates are the automatic promotions and those whose code was typed. One that does not
    stack applies alone: the shopper gets whichever is larger, the best of those or every
    stacking one together. Free delivery combines with any discount. A typed code that does
    not apply is named in `refused` with the reason.
    """
    uses = uses_by_customer or {}
    by_code = {normal_code(p.code): p for p in promotions if p.code}
    typed = [normal_code(code) for code in codes]
    candidates = [p for p in promotions if not p.code]
    refused: dict[str, str] = {}
    for code in typed:
        promotion = by_code.get(code)
        if promotion is None:
            refused[code] = f"{code} is not a valid code."
        else:
            candidates.append(promotion)
    usable: list[Promotion] = []
    for promotion in candidates:
        reason = _why_not(promotion, lines, scope_ids, now, uses)
        if reason is None:
            usable.append(promotion)
        elif promotion.code:
            refused[normal_code(promotion.code)] = reason
    free_shipping = [p for p in usable if p.kind == PromotionKind.FREE_SHIPPING]
    discounts = [p for p in usable if p.kind != PromotionKind.FREE_SHIPPING]
    stacking = [p for p in discounts if p.stackable]
    best = _apply(stacking + free_shipping, lines, scope_ids)
    for alone in (p for p in discounts if not p.stackable):
        candidate = _apply([alone, *free_shipping], lines, scope_ids)
        if candidate.discount > best.discount:
            best = candidate
    chosen = {applied.promotion.pk for applied in best.applied}
    for promotion in discounts:
        if promotion.code and promotion.pk not in chosen:
            refused[normal_code(promotion.code)] = (
                f"{promotion.code} cannot be combined with a better offer already applied."
            )
    best.refused = refused
    return best


def scope_ids(promotions: Iterable[Promotion]) -> dict[int, set[int]]:
    """The products or categories (with those below them) each scoped promotion covers: three
    queries at most."""
    by_scope: dict[str, list[int]] = {PromotionScope.PRODUCTS: [], PromotionScope.CATEGORIES: []}
    for promotion in promotions:
        if promotion.scope in by_scope:
            by_scope[promotion.scope].append(promotion.pk)
    ids: dict[int, set[int]] = {}
    if by_scope[PromotionScope.PRODUCTS]:
        for promotion_id, product_id in PromotionProduct.objects.filter(
            promotion_id__in=by_scope[PromotionScope.PRODUCTS]
        ).values_list("promotion_id", "product_id"):
            ids.setdefault(promotion_id, set()).add(product_id)
    if by_scope[PromotionScope.CATEGORIES]:
        # A category covers everything below it: "Coffee" takes in "Coffee > Beans".
        children: dict[int | None, list[int]] = {}
        for category_id, parent_id in Category.objects.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(category_id)
        for promotion_id, category_id in PromotionCategory.objects.filter(
            promotion_id__in=by_scope[PromotionScope.CATEGORIES]
        ).values_list("promotion_id", "category_id"):
            covered, todo = ids.setdefault(promotion_id, set()), [category_id]
            while todo:
                current = todo.pop()
                if current not in covered:
                    covered.add(current)
                    todo.extend(children.get(current, []))
    return ids


_PROMOTION_FIELDS, _PROMOTION_COLUMNS = rows.columns(Promotion, "promotion")
# Read each time a cart is priced: as written, it costs a fraction of building it with the ORM.
CANDIDATES_SQL = (
    f"SELECT {_PROMOTION_COLUMNS} FROM {Promotion._meta.db_table} AS promotion"  # noqa: S608
    " WHERE promotion.company_id = %(company)s AND ("
    " (promotion.code = '' AND promotion.is_active"
    "  AND (promotion.ends_at IS NULL OR promotion.ends_at > %(now)s))"
    " OR upper(promotion.code) = ANY(%(typed)s::text[])) ORDER BY promotion.name, promotion.id"
)


def candidates(*, company: Company, codes: Sequence[str], now: datetime) -> list[Promotion]:
    """The shop's live automatic promotions and those with the typed codes (in any state: the
    shopper is told why a code does not apply). In the company's tenant context."""
    typed = [code for code in map(normal_code, codes) if code]
    with connection.cursor() as cursor:
        cursor.execute(CANDIDATES_SQL, {"company": company.pk, "now": now, "typed": typed})
        found = cursor.fetchall()
    return [rows.loaded(Promotion, _PROMOTION_FIELDS, row) for row in found]


def uses_by_email(*, promotions: Sequence[Promotion], email: str) -> dict[int, int]:
    """How often this customer (by email) has used each promotion with a per-customer limit."""
    limited = [p.pk for p in promotions if p.per_customer_limit is not None]
    if not limited or not email:
        return {}
    counts: dict[int, int] = {}
    for promotion_id in PromotionRedemption.objects.filter(
        promotion_id__in=limited, email__iexact=email
    ).values_list("promotion_id", flat=True):
        counts[promotion_id] = counts.get(promotion_id, 0) + 1
    return counts


def redeem(*, order: Order, applied: Sequence[Applied], email: str, now: datetime) -> None:
    """Count each promotion's use by this order, inside the order's transaction. A use past a
    total or per-customer limit (another order took the last one meanwhile) raises
    PromotionUnavailable, and the order is not placed."""
    for item in sorted(applied, key=lambda a: a.promotion.pk):
        promotion = item.promotion
        updated = Promotion.objects.filter(pk=promotion.pk, is_active=True).filter(
            Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit"))
        )
        if updated.update(times_used=F("times_used") + 1) != 1:
            raise PromotionUnavailable(f"{promotion} has just been used up.")
        # The row lock the update took serialises this customer's uses of the promotion.
        if promotion.per_customer_limit is not None:
            used = PromotionRedemption.objects.filter(
                promotion_id=promotion.pk, email__iexact=email
            ).count()
            if used >= promotion.per_customer_limit:
                raise PromotionUnavailable(f"You have already used {promotion}.")
        PromotionRedemption.objects.create(
            company_id=order.company_id,
            promotion=promotion,
            order=order,
            email=email,
            amount=item.amount,
            created_at=now,
        )


# -- keeping promotions ------------------------------------------------------------------------


PROMOTION_FIELDS = (
    "name",
    "code",
    "kind",
    "value",
    "scope",
    "min_spend",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "stackable",
    "is_active",
)


def products_by_sku(*, company: Company, skus: str) -> list[Product]:
    """The products a list of SKUs names (comma- or space-separated; any SKU of a product
    chooses the whole product). An SKU the shop does not have is refused, naming it."""
    wanted = [sku for sku in re.split(r"[\s,]+", skus or "") if sku]
    if not wanted:
        return []
    with tenant_context(company):
        variants = inventory_selectors.variants_by_sku(company=company, skus=wanted)
        chosen = {variant.product_id for variant in variants.values()}
        return list(Product.objects.filter(pk__in=chosen).order_by("name"))


def categories_by_public_id(*, company: Company, public_ids: Iterable[str]) -> list[Category]:
    """The company's categories a form chose (ids that are not the company's are dropped)."""
    chosen = [public_id for public_id in public_ids if is_public_id(public_id)]
    if not chosen:
        return []
    with tenant_context(company):
        return list(Category.objects.filter(public_id__in=chosen))


DATE_FORMAT_MESSAGE = "Enter dates as YYYY-MM-DD HH:MM."


def _moment(value: Any) -> datetime | None:
    """A start or end as given: a time, or a form's "YYYY-MM-DDTHH:MM" in Singapore time."""
    if not value or isinstance(value, datetime):
        return value or None
    parsed = datetime.fromisoformat(str(value))  # ValueError: the caller names the field
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _limit(value: Any) -> int | None:
    """A usage limit as given: a whole number above zero, or nothing for no limit."""
    if value in (None, ""):
        return None
    number = int(str(value).strip())  # ValueError: the caller names the field
    if number < 1:
        raise ValueError(number)
    return number


def promotion_save(
    *,
    company: Company,
    actor: User | None,
    data: Mapping[str, Any],
    promotion: Promotion | None = None,
    products: Sequence[Product] = (),
    categories: Sequence[Category] = (),
) -> Promotion:
    """Create or change a promotion; every problem is named at once (InvalidPromotion)."""
    problems: list[dict[str, str]] = []

    def problem(field_name: str, message: str) -> None:
        problems.append({"field": field_name, "code": "invalid", "message": message})

    name = " ".join(str(data.get("name", "")).split())
    code = normal_code(str(data.get("code", "")))
    kind = str(data.get("kind", ""))
    scope = str(data.get("scope", PromotionScope.ORDER))
    if not name:
        problem("name", "Name the promotion.")
    if len(code) > 40 or (code and not code.isalnum()):
        problem("code", "A code has at most 40 letters and digits.")
    if kind not in PromotionKind.values:
        problem("kind", "Choose percentage, fixed or free_shipping.")
    if scope not in PromotionScope.values:
        problem("scope", "Choose order, products or categories.")
    try:
        value = parse_money(data.get("value", "0") or "0")
        min_spend = parse_money(data.get("min_spend", "0") or "0")
    except ValueError as error:
        problem("value", str(error))
        value = min_spend = ZERO
    if value < 0 or min_spend < 0:
        problem("value", "Amounts cannot be negative.")
    if kind == PromotionKind.PERCENTAGE and not 0 < value <= 100:
        problem("value", "A percentage is above 0 and at most 100.")
    if kind == PromotionKind.FIXED and value <= 0:
        problem("value", "Take off an amount above zero.")

    def read(field_name: str, reader: Callable[[Any], Any], message: str) -> Any:
        try:
            return reader(data.get(field_name))
        except ValueError:
            problem(field_name, message)
            return None

    starts_at = read("starts_at", _moment, DATE_FORMAT_MESSAGE)
    ends_at = read("ends_at", _moment, DATE_FORMAT_MESSAGE)
    limits = {
        name_: read(name_, _limit, "Limits are whole numbers above zero.")
        for name_ in ("usage_limit", "per_customer_limit")
    }
    if starts_at and ends_at and ends_at <= starts_at:
        problem("ends_at", "The end comes after the start.")
    if scope == PromotionScope.PRODUCTS and not products:
        problem("products", "Choose the products it applies to.")
    if scope == PromotionScope.CATEGORIES and not categories:
        problem("categories", "Choose the categories it applies to.")
    if problems:
        raise InvalidPromotion(problems[0]["message"], details=problems)
    values = {
        "name": name,
        "code": code,
        "kind": kind,
        "value": value if kind != PromotionKind.FREE_SHIPPING else ZERO,
        "scope": scope,
        "min_spend": min_spend,
        "starts_at": starts_at,
        "ends_at": ends_at,
        **limits,
        "stackable": bool(data.get("stackable", False)),
    }
    with tenant_context(company, user=actor):
        try:
            with transaction.atomic():
                if "is_active" in data or promotion is None:
                    values["is_active"] = bool(data.get("is_active", True))
                if promotion is None:
                    promotion = Promotion.objects.create(
                        company=company, created_at=timezone.now(), **values
                    )
                    action = "promotion.created"
                else:
                    # Only the form's fields: the use counts (kept by redemptions) and, unless
                    # given, whether it is switched on stay as stored.
                    for name_, value_ in values.items():
                        setattr(promotion, name_, value_)
                    promotion.save(update_fields=list(values))
                    action = "promotion.changed"
        except IntegrityError as error:
            raise Conflict(
                f"Another promotion already uses the code {code}.", code="code_taken"
            ) from error
        owned = {"company": company}
        promotion.products.set(
            products if scope == PromotionScope.PRODUCTS else [], through_defaults=owned
        )
        promotion.categories.set(
            categories if scope == PromotionScope.CATEGORIES else [], through_defaults=owned
        )
        audit_record(action=action, obj=promotion, actor=actor)
    return promotion


def promotion_set_active(
    *, company: Company, promotion: Promotion, active: bool, actor: User | None
) -> Promotion:
    """Switch a promotion off (it stops applying at once, codes already in carts included) or
    back on."""
    with tenant_context(company, user=actor):
        locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
        if locked.is_active != active:
            locked.is_active = active
            locked.save(update_fields=["is_active"])
            audit_record(
                action="promotion.switched_on" if active else "promotion.switched_off",
                obj=locked,
                actor=actor,
            )
    return locked

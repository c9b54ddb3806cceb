"""Every write to the catalog: categories, products, variants and images.

Each service runs in one transaction inside its company's tenant context (keeping the acting
user, so the audit entry names them), checks the input with `pasar.catalog.rules`, writes,
records an audit entry and an outbox event, and raises a DomainError with a stable code for
anything a person must fix. The CSV import lives in `pasar.catalog.imports`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, ProtectedError
from django.utils.text import slugify
from PIL import Image, ImageOps, UnidentifiedImageError

from pasar.catalog import events, rules
from pasar.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductStatus,
    TaxCode,
    Variant,
    VariantStatus,
)
from pasar.catalog.rules import CATEGORY_PATH_SEPARATOR
from pasar.core.audit import audit_changes, audit_record
from pasar.core.errors import Conflict, DomainError
from pasar.core.events import publish
from pasar.core.tenant import current_user_id, id_of, tenant_context
from pasar.core.text import INVALID_CHARACTERS_CODE, has_control_characters
from pasar.tenancy.models import Company

PRODUCT_FIELDS = (
    "name",
    "description",
    "category",
    "status",
    "tax_code",
    "price_includes_gst",
    "attributes",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
)
VARIANT_FIELDS = ("sku", "barcode", "options", "price", "cost", "status", "position")
CATEGORY_FIELDS = ("name", "slug", "parent", "position")

# Images: what a shop may upload, and the thumbnails every image gets.
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
THUMBNAIL_SIZES = {"thumbnail_large": 400, "thumbnail_small": 100}
THUMBNAIL_QUALITY = 82


class InvalidCatalogInput(DomainError):
    code = "invalid"
    status = 400


def invalid(field: str, message: str, code: str = "invalid") -> InvalidCatalogInput:
    return InvalidCatalogInput(
        message, code=code, details=[{"field": field, "code": code, "message": message}]
    )


def _taken(field: str, message: str, code: str) -> Conflict:
    return Conflict(
        message, code=code, details=[{"field": field, "code": code, "message": message}]
    )


def checked[T](field: str, clean: Callable[[Any], T], value: Any) -> T:
    """Run a rule on one field, turning its complaint into a 400 that names the field."""
    try:
        return clean(value)
    except rules.InvalidValue as error:
        raise invalid(field, error.message, error.code) from None


def _clean_each(fields: Mapping[str, Any], clean: Callable[[str, Any], Any]) -> dict[str, Any]:
    """Clean every field, then refuse with all the problems at once, so a form shows them
    together instead of one per submit. One problem is raised as it was."""
    cleaned: dict[str, Any] = {}
    refusals: list[InvalidCatalogInput] = []
    for name, value in fields.items():
        try:
            cleaned[name] = clean(name, value)
        except InvalidCatalogInput as error:
            refusals.append(error)
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        raise InvalidCatalogInput(
            "Some of the details are not right; each is explained next to its field.",
            details=[detail for refusal in refusals for detail in refusal.details],
        )
    return cleaned


def _constraint_of(error: IntegrityError) -> str:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", "") or ""


UNIQUE_CONFLICTS = {
    "variant_sku_per_company": ("sku", "sku_taken", "Another variant already has SKU “{sku}”."),
    "variant_barcode_per_company": (
        "barcode",
        "barcode_taken",
        "Another variant already has barcode {barcode}.",
    ),
    "category_slug_per_company": (
        "slug",
        "slug_taken",
        "Another category already uses the address “{slug}”.",
    ),
}


def _saved(obj: Any, *, update_fields: Sequence[str] | None = None) -> None:
    """Save in a savepoint; a unique constraint lost to a concurrent write becomes a 409."""
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError as error:
        conflict = UNIQUE_CONFLICTS.get(_constraint_of(error))
        if conflict is None:
            raise
        field, code, message = conflict
        raise _taken(field, message.format(**{field: getattr(obj, field)}), code) from None


def _context(company: Company | int) -> Any:
    return tenant_context(company, user=current_user_id())


# -- categories -----------------------------------------------------------------------------


def _stored_text(field: str, text: str, *, what: str) -> str:
    if has_control_characters(text):
        raise invalid(
            field,
            f"The {what} holds a control character (such as NUL); remove it and try again.",
            INVALID_CHARACTERS_CODE,
        )
    return text


def _clean_category_name(value: Any) -> str:
    name = _stored_text("name", str(value or "").strip(), what="category name")
    if not name:
        raise invalid("name", "Give the category a name, for example “Coffee”.", "required")
    if len(name) > 120:
        raise invalid("name", "A category name has at most 120 characters.", "too_long")
    if CATEGORY_PATH_SEPARATOR in name:
        raise invalid(
            "name",
            f"A category name cannot contain “{CATEGORY_PATH_SEPARATOR}”: it separates the "
            "levels of a category path such as “Drinks > Coffee”.",
        )
    return name


def _free_slug(name: str) -> str:
    """A slug derived from the name, numbered when another category of the company has it."""
    base = slugify(name)[:130] or "category"
    taken = set(Category.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def _clean_slug(value: Any) -> str:
    slug = slugify(str(value or ""))
    if not slug:
        raise invalid("slug", "A category address uses letters, digits and hyphens.", "invalid")
    if len(slug) > 140:
        raise invalid("slug", "A category address has at most 140 characters.", "too_long")
    return slug


def _lock_category_tree(company_id: int) -> None:
    """Serialise moves within one company's tree, so two concurrent moves cannot close a loop."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"catalog.category_tree:{company_id}"],
        )


def _check_parent(category: Category | None, parent: Category | None, company_id: int) -> None:
    if parent is None:
        return
    if parent.company_id != company_id:
        raise invalid("parent", "That parent category was not found in this company.", "not_found")
    if category is None or category.pk is None:
        return
    ancestor: Category | None = parent
    while ancestor is not None:
        if ancestor.pk == category.pk:
            raise invalid(
                "parent",
                f"“{category.name}” cannot be placed under “{parent.name}”: "
                f"“{parent.name}” is inside “{category.name}” already.",
                "category_cycle",
            )
        ancestor = ancestor.parent


def category_create(
    *,
    company: Company,
    name: str,
    parent: Category | None = None,
    slug: str = "",
    position: int = 0,
) -> Category:
    """Add a category, at the top of the tree or under `parent`."""
    name = _clean_category_name(name)
    with _context(company):
        category = Category(
            company=company,
            name=name,
            parent=parent,
            slug=_clean_slug(slug) if slug else _free_slug(name),
            position=position,
        )
        _check_parent(None, parent, company.pk)
        _saved(category)
        audit_record(
            action="category.created",
            obj=category,
            changes={"name": [None, name], "slug": [None, category.slug]},
        )
    return category


def category_update(*, category: Category, **fields: Any) -> Category:
    """Rename, re-address or move a category. A category cannot move under its own subtree."""
    unknown = sorted(set(fields) - set(CATEGORY_FIELDS))
    if unknown:
        raise invalid(unknown[0], f"{', '.join(unknown)} cannot be changed here.", "read_only")
    with _context(category.company_id):
        _lock_category_tree(category.company_id)
        category = Category.objects.select_for_update().get(pk=category.pk)
        before = {name: getattr(category, name) for name in CATEGORY_FIELDS}
        if "name" in fields:
            category.name = _clean_category_name(fields["name"])
        if "slug" in fields:
            category.slug = _clean_slug(fields["slug"])
        if "parent" in fields:
            parent = fields["parent"]
            if parent is not None:
                # Re-read under the tree lock: the chain walked for cycles must be current.
                parent = Category.objects.get(pk=parent.pk)
            _check_parent(category, parent, category.company_id)
            category.parent = parent
        if "position" in fields:
            category.position = fields["position"]
        changed = [name for name in CATEGORY_FIELDS if before[name] != getattr(category, name)]
        if changed:
            _saved(category, update_fields=[*changed, "updated_at"])
            audit_record(
                action="category.updated",
                obj=category,
                changes=audit_changes(before, category, changed),
            )
    return category


def category_delete(*, category: Category) -> None:
    """Remove an empty category. Its products stay, without a category."""
    with _context(category.company_id):
        _lock_category_tree(category.company_id)
        if Category.objects.filter(parent=category).exists():
            raise Conflict(
                f"“{category.name}” still has categories inside it; move or remove them first.",
                code="category_not_empty",
            )
        audit_record(
            action="category.deleted", obj=category, changes={"name": [category.name, None]}
        )
        category.delete()


def category_path_ensure(*, company: Company | int, path: Sequence[str]) -> Category:
    """The category at a path such as ["Drinks", "Coffee"], creating the missing levels.

    Names match without regard to case, so "drinks > coffee" finds "Drinks > Coffee".
    """
    if not path:
        raise invalid("category", "A category path names at least one category.")
    with _context(company):
        company_id = id_of(company)
        _lock_category_tree(company_id)
        parent: Category | None = None
        for raw_name in path:
            name = _clean_category_name(raw_name)
            found = Category.objects.filter(parent=parent, name__iexact=name).order_by("pk").first()
            if found is None:
                found = Category(
                    company_id=company_id, name=name, parent=parent, slug=_free_slug(name)
                )
                _saved(found)
                audit_record(
                    action="category.created",
                    obj=found,
                    changes={"name": [None, name], "slug": [None, found.slug]},
                )
            parent = found
        assert parent is not None
        return parent


# -- products -------------------------------------------------------------------------------


def _clean_product_field(name: str, value: Any, company_id: int) -> Any:
    if name == "name":
        text = str(value or "").strip()
        if not text:
            raise invalid("name", "Give the product a name.", "required")
        if len(text) > 200:
            raise invalid("name", "A product name has at most 200 characters.", "too_long")
        return _stored_text(name, text, what="product name")
    elif name == "description":
        description = str(value or "").strip()
        return _stored_text(name, description, what="description")
    elif name == "category":
        if value is not None and value.company_id != company_id:
            raise invalid("category", "That category was not found in this company.")
        return value
    elif name == "status":
        return checked(name, rules.clean_product_status, value)
    elif name == "tax_code":
        return checked(name, rules.clean_tax_code, value)
    elif name == "price_includes_gst":
        if not isinstance(value, bool):
            raise invalid(name, "Say true or false: do the prices include GST?")
        return value
    elif name == "attributes":
        if not isinstance(value, dict):
            raise invalid(name, 'Attributes are name-value pairs, e.g. {"origin": "Java"}.')
        return value
    elif name in ("weight_g", "length_mm", "width_mm", "height_mm"):
        return checked(name, partial(rules.clean_whole_number, what=name), value)
    else:
        raise invalid(name, f"{name} cannot be set on a product.", "read_only")


def _clean_product_fields(fields: dict[str, Any], company_id: int) -> dict[str, Any]:
    return _clean_each(fields, partial(_clean_product_field, company_id=company_id))


def _check_can_be_active(product: Product, variants: Sequence[Mapping[str, Any]] = ()) -> None:
    if product.status != ProductStatus.ACTIVE:
        return
    has_active = any(
        v.get("status", VariantStatus.ACTIVE) == VariantStatus.ACTIVE for v in variants
    )
    if not has_active and product.pk is not None:
        has_active = product.variants.filter(status=VariantStatus.ACTIVE).exists()
    if not has_active:
        raise invalid(
            "status",
            "A product goes on sale with at least one active variant; add one first.",
            "no_active_variant",
        )


def _refresh_search_text(product: Product) -> None:
    variants = list(Variant.objects.filter(product=product))
    for variant in variants:
        variant.search_text = rules.search_text(
            product_name=product.name,
            options=variant.options,
            sku=variant.sku,
            barcode=variant.barcode,
        )
    Variant.objects.bulk_update(variants, ["search_text"])


def _product_payload(product: Product) -> dict[str, Any]:
    return {"product": str(product.public_id), "name": product.name, "status": product.status}


def product_create(
    *,
    company: Company,
    name: str,
    variants: Sequence[Mapping[str, Any]] = (),
    description: str = "",
    category: Category | None = None,
    status: str = ProductStatus.DRAFT,
    tax_code: str = TaxCode.STANDARD_RATED,
    price_includes_gst: bool = True,
    attributes: dict[str, Any] | None = None,
    weight_g: int | None = None,
    length_mm: int | None = None,
    width_mm: int | None = None,
    height_mm: int | None = None,
    allow_below_cost: bool = True,
) -> Product:
    """Add a product with its variants (each a mapping of `variant_create` arguments).

    All or nothing: a bad variant refuses the whole product.
    """
    fields = _clean_product_fields(
        {
            "name": name,
            "description": description,
            "category": category,
            "status": status,
            "tax_code": tax_code,
            "price_includes_gst": price_includes_gst,
            "attributes": attributes or {},
            "weight_g": weight_g,
            "length_mm": length_mm,
            "width_mm": width_mm,
            "height_mm": height_mm,
        },
        company.pk,
    )
    with _context(company):
        product = Product(company=company, **fields)
        _check_can_be_active(product, variants)
        product.save()
        for position, variant_fields in enumerate(variants):
            try:
                _variant_add(
                    product,
                    {"position": position, **variant_fields},
                    allow_below_cost=allow_below_cost,
                )
            except DomainError as error:
                for detail in error.details:
                    if "field" in detail:
                        detail["field"] = f"variants.{position}.{detail['field']}"
                raise
        audit_record(
            action="product.created",
            obj=product,
            changes={"name": [None, product.name], "status": [None, product.status]},
        )
        publish(events.PRODUCT_CREATED, _product_payload(product))
    return product


def product_update(*, product: Product, **fields: Any) -> Product:
    """Change a product's details; its variants change through the variant services."""
    cleaned = _clean_product_fields(fields, product.company_id)
    with _context(product.company_id):
        product = Product.objects.select_for_update().get(pk=product.pk)
        before = {name: getattr(product, name) for name in PRODUCT_FIELDS}
        for name, value in cleaned.items():
            setattr(product, name, value)
        changed = [name for name in PRODUCT_FIELDS if before[name] != getattr(product, name)]
        if not changed:
            return product
        if "status" in changed:
            _check_can_be_active(product)
        product.save(update_fields=[*changed, "updated_at"])
        if "name" in changed:
            _refresh_search_text(product)
        audit_record(
            action="product.updated", obj=product, changes=audit_changes(before, product, changed)
        )
        publish(events.PRODUCT_UPDATED, {**_product_payload(product), "fields": sorted(changed)})
    return product


def product_delete(*, product: Product) -> None:
    """Remove a product and its variants, unless stock or sales refer to them: archive those."""
    with _context(product.company_id):
        payload = _product_payload(product)
        images = list(ProductImage.objects.filter(product=product))
        audit_record(action="product.deleted", obj=product, changes={"name": [product.name, None]})
        try:
            with transaction.atomic():
                product.delete()
        except (ProtectedError, IntegrityError):
            raise Conflict(
                f"“{product.name}” has stock or sales history, so it cannot be deleted; "
                "archive it instead.",
                code="product_in_use",
            ) from None
        for image in images:
            _delete_files_on_commit(image)
        publish(events.PRODUCT_DELETED, payload)


# -- variants -------------------------------------------------------------------------------


def _clean_variant_field(name: str, value: Any) -> Any:
    if name == "sku":
        return checked(name, rules.clean_sku, value)
    elif name == "barcode":
        return checked(name, rules.clean_barcode, value)
    elif name == "options":
        return checked(name, rules.clean_options, value)
    elif name == "price":
        return checked(name, rules.clean_price, value)
    elif name == "cost":
        return checked(name, rules.clean_cost, value)
    elif name == "status":
        return checked(name, rules.clean_variant_status, value)
    elif name == "position":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid(name, "The position is a whole number from 0.")
        return value
    else:
        raise invalid(name, f"{name} cannot be set on a variant.", "read_only")


def _clean_variant_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return _clean_each(fields, _clean_variant_field)


def _check_unique(variant: Variant) -> None:
    """Refuse a SKU or barcode the company already uses, before the database would."""
    others = Variant.objects.exclude(pk=variant.pk)
    if others.filter(sku=variant.sku).exists():
        raise _taken("sku", f"Another variant already has SKU “{variant.sku}”.", "sku_taken")
    if variant.barcode and others.filter(barcode=variant.barcode).exists():
        raise _taken(
            "barcode", f"Another variant already has barcode {variant.barcode}.", "barcode_taken"
        )


class PriceBelowCost(DomainError):
    """Refused until the person confirms: the price is under the unit cost."""

    code = "price_below_cost"
    status = 409


def _check_price_against_cost(variant: Variant, *, allow_below_cost: bool) -> None:
    if allow_below_cost or not rules.below_cost(price=variant.price, cost=variant.cost):
        return
    message = rules.below_cost_warning(sku=variant.sku, price=variant.price, cost=variant.cost)
    raise PriceBelowCost(
        f"{message} Confirm to save it anyway.",
        details=[{"field": "price", "code": PriceBelowCost.code, "message": message}],
    )


def price_warnings(variants: Iterable[Variant]) -> list[dict[str, str]]:
    """What a response should warn about: variants priced below their cost."""
    return [
        {
            "code": PriceBelowCost.code,
            "variant": str(variant.public_id),
            "message": rules.below_cost_warning(
                sku=variant.sku, price=variant.price, cost=variant.cost
            ),
        }
        for variant in variants
        if rules.below_cost(price=variant.price, cost=variant.cost)
    ]


def _variant_add(
    product: Product, fields: Mapping[str, Any], *, allow_below_cost: bool = True
) -> Variant:
    if "sku" not in fields or "price" not in fields:
        missing = "sku" if "sku" not in fields else "price"
        raise invalid(missing, f"Every variant needs a {missing}.", "required")
    cleaned = _clean_variant_fields(fields)
    variant = Variant(company_id=product.company_id, product=product, **cleaned)
    _check_price_against_cost(variant, allow_below_cost=allow_below_cost)
    variant.search_text = rules.search_text(
        product_name=product.name, options=variant.options, sku=variant.sku, barcode=variant.barcode
    )
    _check_unique(variant)
    _saved(variant)
    publish(
        events.VARIANT_CREATED,
        {"variant": str(variant.public_id), "product": str(product.public_id), "sku": variant.sku},
    )
    return variant


def variant_create(
    *,
    product: Product,
    sku: str,
    price: Decimal | str,
    barcode: str = "",
    options: dict[str, str] | None = None,
    cost: Decimal | str = Decimal(0),
    status: str = VariantStatus.ACTIVE,
    position: int | None = None,
    allow_below_cost: bool = True,
) -> Variant:
    """Add a variant (a sellable SKU) to a product. The SKU is unique in the company.

    `allow_below_cost=False` (pages, until the person confirms) refuses a price under the cost
    with PriceBelowCost."""
    with _context(product.company_id):
        product = Product.objects.select_for_update().get(pk=product.pk)
        if position is None:
            last = Variant.objects.filter(product=product).aggregate(last=Max("position"))["last"]
            position = 0 if last is None else last + 1
        variant = _variant_add(
            product,
            {
                "sku": sku,
                "price": price,
                "barcode": barcode,
                "options": options or {},
                "cost": cost,
                "status": status,
                "position": position,
            },
            allow_below_cost=allow_below_cost,
        )
        audit_record(
            action="variant.created",
            obj=variant,
            changes={"sku": [None, variant.sku], "price": [None, str(variant.price)]},
        )
    return variant


def variant_update(*, variant: Variant, allow_below_cost: bool = True, **fields: Any) -> Variant:
    """Change a variant: price, cost, SKU, barcode, options, status or position.

    `allow_below_cost=False` refuses a new price or cost that puts the price under the cost."""
    cleaned = _clean_variant_fields(fields)
    with _context(variant.company_id):
        variant = Variant.objects.select_for_update().select_related("product").get(pk=variant.pk)
        before = {name: getattr(variant, name) for name in VARIANT_FIELDS}
        for name, value in cleaned.items():
            setattr(variant, name, value)
        changed = [name for name in VARIANT_FIELDS if before[name] != getattr(variant, name)]
        if not changed:
            return variant
        if {"price", "cost"} & set(changed):
            _check_price_against_cost(variant, allow_below_cost=allow_below_cost)
        variant.search_text = rules.search_text(
            product_name=variant.product.name,
            options=variant.options,
            sku=variant.sku,
            barcode=variant.barcode,
        )
        _check_unique(variant)
        _saved(variant, update_fields=[*changed, "search_text", "updated_at"])
        audit_record(
            action="variant.updated", obj=variant, changes=audit_changes(before, variant, changed)
        )
        publish(
            events.VARIANT_UPDATED,
            {
                "variant": str(variant.public_id),
                "product": str(variant.product.public_id),
                "sku": variant.sku,
                "fields": sorted(changed),
            },
        )
    return variant


def variant_delete(*, variant: Variant) -> None:
    """Remove a variant nobody refers to yet; one with stock or sales is archived instead."""
    with _context(variant.company_id):
        payload = {"variant": str(variant.public_id), "sku": variant.sku}
        audit_record(action="variant.deleted", obj=variant, changes={"sku": [variant.sku, None]})
        try:
            with transaction.atomic():
                variant.delete()
        except (ProtectedError, IntegrityError):
            raise Conflict(
                f"SKU “{variant.sku}” has stock or sales history, so it cannot be deleted; "
                "archive it instead.",
                code="variant_in_use",
            ) from None
        publish(events.VARIANT_DELETED, payload)


# -- images ---------------------------------------------------------------------------------


def _open_image(upload: File) -> Image.Image:
    if upload.size is not None and upload.size > IMAGE_MAX_BYTES:
        raise invalid(
            "image", f"An image may be at most {IMAGE_MAX_BYTES // (1024 * 1024)} MB.", "too_large"
        )
    upload.seek(0)
    try:
        image = Image.open(upload)
        image.verify()  # checks the file's structure; the image must be reopened afterwards
        upload.seek(0)
        image = Image.open(upload)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise invalid(
            "image",
            "That file is not an image we can read; upload a JPEG, PNG or WebP.",
            "invalid_image",
        ) from None
    if image.format not in IMAGE_FORMATS:
        raise invalid("image", "Upload a JPEG, PNG, WebP or GIF image.", "invalid_image")
    if image.width * image.height > IMAGE_MAX_PIXELS:
        raise invalid("image", "That image has too many pixels; make it smaller.", "too_large")
    return image


def _thumbnail(image: Image.Image, size: int) -> ContentFile[bytes]:
    """A WebP no larger than size x size, upright (phone photos carry their rotation in EXIF)."""
    picture = ImageOps.exif_transpose(image)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format="WEBP", quality=THUMBNAIL_QUALITY, method=4)
    return ContentFile(buffer.getvalue())


def _delete_files_on_commit(image: ProductImage) -> None:
    """Files are not transactional: remove them only once the row's removal has committed."""
    files = (image.original, image.thumbnail_large, image.thumbnail_small)
    storage_names = [(f.storage, f.name) for f in files if f.name]

    def remove() -> None:
        for storage, name in storage_names:
            storage.delete(name)

    transaction.on_commit(remove, robust=True)


def product_image_add(
    *, product: Product, upload: File, alt_text: str = "", variant: Variant | None = None
) -> ProductImage:
    """Store a product photo through the storage API, with a 400px and a 100px thumbnail."""
    source = _open_image(upload)
    if variant is not None and variant.product_id != product.pk:
        raise invalid("variant", "That variant belongs to another product.")
    with _context(product.company_id):
        product = Product.objects.select_for_update().get(pk=product.pk)
        last = ProductImage.objects.filter(product=product).aggregate(last=Max("position"))["last"]
        image = ProductImage(
            company_id=product.company_id,
            product=product,
            variant=variant,
            alt_text=str(alt_text or "").strip()[:200],
            position=0 if last is None else last + 1,
            width=source.width,
            height=source.height,
        )
        extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}[str(source.format)]
        saved: list[Any] = []
        try:
            upload.seek(0)
            image.original.save(f"original.{extension}", upload, save=False)
            saved.append(image.original)
            for field, size in THUMBNAIL_SIZES.items():
                getattr(image, field).save(f"{size}.webp", _thumbnail(source, size), save=False)
                saved.append(getattr(image, field))
            image.save()
        except Exception:
            # The row is not written, so the files it would have named must not stay behind.
            for stored in saved:
                stored.storage.delete(stored.name)
            raise
        audit_record(
            action="product_image.added", obj=image, changes={"product": [None, product.name]}
        )
    return image


def product_image_update(
    *, image: ProductImage, alt_text: str | None = None, position: int | None = None
) -> ProductImage:
    with _context(image.company_id):
        image = ProductImage.objects.select_for_update().get(pk=image.pk)
        changed: list[str] = []
        if alt_text is not None:
            image.alt_text = str(alt_text).strip()[:200]
            changed.append("alt_text")
        if position is not None:
            if position < 0:
                raise invalid("position", "The position is a whole number from 0.")
            image.position = position
            changed.append("position")
        if changed:
            image.save(update_fields=changed)
    return image


def product_image_delete(*, image: ProductImage) -> None:
    with _context(image.company_id):
        audit_record(action="product_image.deleted", obj=image)
        image.delete()
        _delete_files_on_commit(image)

"""The product pages of the back office: list and search, a product with its variants and
photos, and the CSV import with its progress.

Everyone in the company may look (`catalog.view`); owners, admins and the warehouse role
change things (`catalog.manage`). Every change goes through `pasar.catalog.services` (the
import through `pasar.catalog.imports`, exactly as the API starts it).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.catalog import imports, selectors, services
from pasar.catalog.forms import (
    ImageForm,
    ImportForm,
    NewProductForm,
    ProductForm,
    VariantForm,
    options_text,
)
from pasar.catalog.models import (
    ImportJob,
    ImportStatus,
    Product,
    ProductStatus,
    Variant,
)
from pasar.core.errors import DomainError
from pasar.tenancy.permissions import acting_company, can, company_required

PRODUCTS_PER_PAGE = 25
RECENT_IMPORTS = 10
PRODUCT_FIELDS = ("name", "category", "status", "tax_code", "price_includes_gst", "description")


def _can_manage(request: HttpRequest) -> bool:
    return can(request.membership.role, "catalog.manage")  # type: ignore[attr-defined]


def _product(request: HttpRequest, public_id: uuid.UUID) -> Product:
    return get_object_or_404(
        selectors.product_list(company=acting_company(request)), public_id=public_id
    )


def _categories(request: HttpRequest) -> Any:
    return selectors.category_list(company=acting_company(request))


# -- list and search ------------------------------------------------------------------------


@require_GET
@company_required("catalog.view")
def product_list(request: HttpRequest) -> HttpResponse:
    """Products, newest names first; a search finds them by name, SKU or barcode, best first."""
    company = acting_company(request)
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in ProductStatus.values:
        status = ""
    products = selectors.product_list(company=company, status=status or None)
    matches: dict[int, list[Variant]] = {}
    if query:
        for hit in selectors.variant_search(
            company=company, query=query, limit=selectors.SEARCH_MAX_RESULTS
        ):
            matches.setdefault(hit.variant.product_id, []).append(hit.variant)
        found = {product.pk: product for product in products.filter(pk__in=matches)}
        rows: Any = [found[pk] for pk in matches if pk in found]
    else:
        rows = products
    page = Paginator(rows, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_list.html",
        {
            "page": page,
            "rows": [
                {"product": product, "matches": matches.get(product.pk, [])} for product in page
            ],
            "query": query,
            "status": status,
            "statuses": ProductStatus.choices,
            "can_manage": _can_manage(request),
        },
    )


# -- one product ----------------------------------------------------------------------------


# The product page holds the product's form and the new-variant form, which share field names
# (status, price): the new variant's fields get ids of their own.
NEW_VARIANT_IDS = "id_new_variant_%s"


def _product_page(
    request: HttpRequest,
    product: Product,
    *,
    product_form: ProductForm | None = None,
    variant_form: VariantForm | None = None,
    image_form: ImageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    initial = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    initial["weight_g"] = product.weight_g
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "variants": [
                {"variant": variant, "options": options_text(variant.options)}
                for variant in product.variants.all()
            ],
            "images": product.images.all(),
            "product_form": product_form
            or ProductForm(initial=initial, categories=_categories(request)),
            "variant_form": variant_form or VariantForm(auto_id=NEW_VARIANT_IDS),
            "image_form": image_form or ImageForm(),
            "can_manage": _can_manage(request),
        },
        status=status,
    )


@require_GET
@company_required("catalog.view")
def product_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _product_page(request, _product(request, public_id))


@require_POST
@company_required("catalog.manage")
def product_update(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    product = _product(request, public_id)
    form = ProductForm(request.POST, categories=_categories(request))
    if form.is_valid():
        try:
            services.product_update(product=product, **form.cleaned_data)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{form.cleaned_data['name']} is saved.")
            return redirect("catalog:product_detail", public_id=product.public_id)
    return _product_page(request, product, product_form=form, status=400)


@require_http_methods(["GET", "POST"])
@company_required("catalog.manage")
def product_create(request: HttpRequest) -> HttpResponse:
    form = NewProductForm(request.POST or None, categories=_categories(request))
    if request.method == "POST" and form.is_valid():
        data = form.service_fields()
        variant = {name: data.pop(name) for name in ("sku", "price", "cost", "barcode", "options")}
        data.pop("status", None)
        try:
            product = services.product_create(
                company=acting_company(request), variants=[variant], **data
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{product.name} is added as a draft.")
            return redirect("catalog:product_detail", public_id=product.public_id)
    return render(
        request,
        "catalog/product_new.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@company_required("catalog.manage")
def variant_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    product = _product(request, public_id)
    form = VariantForm(request.POST, auto_id=NEW_VARIANT_IDS)
    if form.is_valid():
        try:
            variant = services.variant_create(product=product, **form.service_fields())
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"SKU {variant.sku} is added to {product.name}.")
            return redirect("catalog:product_detail", public_id=product.public_id)
    return _product_page(request, product, variant_form=form, status=400)


@require_http_methods(["GET", "POST"])
@company_required("catalog.manage")
def variant_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    variant = get_object_or_404(
        selectors.variant_list(company=acting_company(request)),
        public_id=public_id,
    )
    initial = {
        "sku": variant.sku,
        "price": variant.price,
        "cost": format(variant.cost.normalize(), "f"),
        "barcode": variant.barcode,
        "options": options_text(variant.options),
        "status": variant.status,
    }
    form = VariantForm(request.POST or None, initial=initial)
    if not can(request.membership.role, "catalog.price"):  # type: ignore[attr-defined]
        # Everything else may change; the selling price stays the managers' to set.
        form.fields["price"].disabled = True
        form.fields["price"].help_text = "Only an owner or admin changes selling prices."
    if request.method == "POST" and form.is_valid():
        try:
            services.variant_update(variant=variant, **form.service_fields())
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"SKU {form.cleaned_data['sku']} is saved.")
            return redirect("catalog:product_detail", public_id=variant.product.public_id)
    return render(
        request,
        "catalog/variant_edit.html",
        {"variant": variant, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@company_required("catalog.manage")
def image_upload(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    product = _product(request, public_id)
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.product_image_add(
                product=product,
                upload=form.cleaned_data["image"],
                alt_text=form.cleaned_data["alt_text"],
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"The photo is added to {product.name}.")
            return redirect("catalog:product_detail", public_id=product.public_id)
    return _product_page(request, product, image_form=form, status=400)


@require_GET
@company_required("catalog.view")
def image_file(request: HttpRequest, public_id: uuid.UUID, size: str) -> HttpResponseBase:
    """A product photo (the upload or a thumbnail) of this company, for the back office."""
    found = selectors.image_file(company=acting_company(request), public_id=public_id, size=size)
    if found is None:
        raise Http404("No such picture.")
    return image_response(found)


def image_response(found: selectors.ImageFile) -> FileResponse:
    """Streamed from storage (an upload may be 10 MB); the address is a public id, so the
    storage path, which carries internal ids, never leaves the server."""
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- CSV import -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@company_required("catalog.manage")
def import_start(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.catalog_import_start(
                company=acting_company(request), upload=form.cleaned_data["file"]
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            return redirect("catalog:import_progress", public_id=job.public_id)
    return render(
        request,
        "catalog/import_start.html",
        {
            "form": form,
            "recent": selectors.import_job_list(company=acting_company(request))[:RECENT_IMPORTS],
        },
        status=400 if form.errors else 200,
    )


def percent_done(job: ImportJob) -> int:
    if job.status == ImportStatus.SUCCEEDED:
        return 100
    if not job.total_rows:
        return 0
    return min(100, job.processed_rows * 100 // job.total_rows)


@require_GET
@company_required("catalog.manage")
def import_progress(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The job's progress; while it runs, htmx asks again every second for the panel only."""
    job = get_object_or_404(
        selectors.import_job_list(company=acting_company(request)), public_id=public_id
    )
    finished = job.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)
    context = {"job": job, "finished": finished, "percent": percent_done(job)}
    if request.headers.get("HX-Request"):
        return render(request, "catalog/_import_progress.html", context)
    return render(request, "catalog/import_progress.html", context)

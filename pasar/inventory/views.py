"""Location pages: the first location is the last step of onboarding."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from pasar.core.errors import DomainError
from pasar.inventory import services
from pasar.inventory.forms import LocationForm
from pasar.tenancy.decorators import company_required


@company_required("location.manage")
@require_http_methods(["GET", "POST"])
def onboarding_location(request: HttpRequest) -> HttpResponse:
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            location = services.location_create(
                company=request.company,  # type: ignore[attr-defined]
                **form.cleaned_data,
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{location.name} is ready to hold stock.")
            return redirect("backoffice:home")
    return render(request, "inventory/onboarding_location.html", {"form": form})

"""The GST return over the API: the F5 boxes for a period, and the journal lines behind a box."""

from __future__ import annotations

import json
from typing import Any, cast

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.core.api import StrictSerializer
from pasar.core.exports import EXPORTS, report_data, report_file
from pasar.gst import services
from pasar.gst.rendering import f5_pdf
from pasar.gst.reports import gst_detail
from pasar.ledger import selectors as ledger_selectors
from pasar.tenancy.models import User
from pasar.tenancy.permissions import RoleAllows, acting_company

PERIOD = [
    OpenApiParameter("start", type=str, required=True, description="First day, YYYY-MM-DD."),
    OpenApiParameter("end", type=str, required=True, description="Last day, YYYY-MM-DD."),
]


class PeriodInput(StrictSerializer):
    start = serializers.DateField()
    end = serializers.DateField()


class BoxLinesInput(PeriodInput):
    box = serializers.IntegerField(min_value=1, max_value=21)
    page = serializers.IntegerField(min_value=1, required=False)
    per_page = serializers.IntegerField(min_value=1, required=False)


class F5Output(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    state = serializers.CharField()
    boxes = serializers.DictField(child=serializers.CharField())


class TaxLineOutput(serializers.Serializer):
    entry = serializers.CharField(source="entry.number")
    date = serializers.DateField()
    description = serializers.CharField(source="entry.description")
    reference = serializers.CharField(source="entry.reference")
    account = serializers.CharField(source="account.code")
    tax_code = serializers.CharField()
    value = serializers.DecimalField(source="tax_base", max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)


class F5View(APIView):
    permission_classes = (RoleAllows.to("gst.view"),)

    @extend_schema(parameters=PERIOD, responses=F5Output, summary="The GST F5 boxes of a period")
    def get(self, request: Request) -> Response:
        period = PeriodInput.valid(request.query_params.dict())
        company = acting_company(request)
        found = services.f5_compute(company=company, start=period["start"], end=period["end"])
        state = services.f5_state(company=company, start=found.start, end=found.end)
        return Response(
            F5Output(
                {"start": found.start, "end": found.end, "state": state, "boxes": found.as_data()}
            ).data
        )


class F5BoxLinesView(ListAPIView):
    """The journal lines whose values or GST make up one box."""

    permission_classes = (RoleAllows.to("gst.view"),)
    serializer_class = TaxLineOutput

    def get_queryset(self) -> Any:
        asked = BoxLinesInput.valid(self.request.query_params.dict())
        company = acting_company(self.request)
        services.f5_period_check(company=company, start=asked["start"], end=asked["end"])
        return ledger_selectors.tax_lines(
            company=company,
            start=asked["start"],
            end=asked["end"],
            codes=services.box_codes(asked["box"]),
        )

    @extend_schema(
        parameters=[*PERIOD, OpenApiParameter("box", type=int, required=True)],
        summary="The journal lines behind one F5 box",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class F5FileView(APIView):
    permission_classes = (RoleAllows.to("gst.file"),)

    @extend_schema(
        request=PeriodInput,
        responses={201: F5Output},
        summary="Mark a period's F5 filed: its boxes are kept and the period is locked",
    )
    def post(self, request: Request) -> Response:
        period = PeriodInput.valid(request.data)
        filed = services.f5_file(
            company=acting_company(request),
            start=period["start"],
            end=period["end"],
            actor=cast(User, request.user),  # the permission admits signed-in staff only
        )
        body = {"start": filed.start, "end": filed.end, "state": "filed", "boxes": filed.boxes}
        return Response(F5Output(body).data, status=201)


class F5ExportInput(PeriodInput):
    as_ = serializers.ChoiceField(choices=["pdf", "json"], default="pdf")

    def to_internal_value(self, data: Any) -> Any:
        # "as" is a Python keyword: the query parameter is read into `as_`.
        data = dict(data)
        if "as" in data:
            data["as_"] = data.pop("as")
        return super().to_internal_value(data)


class PeriodOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    due = serializers.DateField()
    state = serializers.CharField()
    late = serializers.BooleanField(help_text="Due and not filed.")


class F5PeriodsView(APIView):
    permission_classes = (RoleAllows.to("gst.view"),)

    @extend_schema(
        responses=PeriodOutput(many=True),
        summary="The company's last four accounting periods, their due dates and state",
    )
    def get(self, request: Request) -> Response:
        company = acting_company(request)
        periods = services.periods_recent(company=company, today=timezone.localdate())
        return Response(PeriodOutput(periods, many=True).data)


class F5ExportView(APIView):
    """The return as a PDF for the files, or as JSON in the field names of IRAS's GST return
    API (submitF5F8ReturnCorpPass), ready for a later submission."""

    permission_classes = (RoleAllows.to("gst.view"),)

    @extend_schema(
        parameters=[*PERIOD, OpenApiParameter("as", str, enum=["pdf", "json"])],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, (200, "application/json"): dict},
        summary="The F5 as a PDF, or as IRAS's GST return API payload",
    )
    def get(self, request: Request) -> HttpResponse | Response:
        asked = F5ExportInput.valid(request.query_params.dict())
        company = acting_company(request)
        found = services.f5_compute(company=company, start=asked["start"], end=asked["end"])
        state = services.f5_state(company=company, start=found.start, end=found.end)
        name = f"gst-f5-{found.start.isoformat()}-{found.end.isoformat()}"
        if asked["as_"] == "json":
            body = json.dumps(found.iras_payload(tax_ref=company.gst_number), indent=2)
            response = HttpResponse(body, content_type="application/json")
            response["Content-Disposition"] = f'attachment; filename="{name}.json"'
            return response
        response = HttpResponse(
            f5_pdf(company=company, found=found, state=state), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response


class DetailInput(PeriodInput):
    export = serializers.ChoiceField(choices=sorted(EXPORTS), required=False)


class GstDetailView(APIView):
    permission_classes = (RoleAllows.to("gst.view"),)

    @extend_schema(
        parameters=[*PERIOD, OpenApiParameter("export", str, enum=sorted(EXPORTS))],
        responses={200: dict, (200, "text/csv"): OpenApiTypes.BINARY},
        summary="The period's values and GST by tax code, with the F5 boxes each feeds",
    )
    def get(self, request: Request) -> HttpResponse | Response:
        asked = DetailInput.valid(request.query_params.dict())
        if asked["start"] > asked["end"]:
            raise services.InvalidPeriod("The period must start before it ends.")
        report = gst_detail(company=acting_company(request), start=asked["start"], end=asked["end"])
        if asked.get("export"):
            name = f"gst-detail-{asked['start'].isoformat()}-{asked['end'].isoformat()}"
            return report_file(report, asked["export"], name)
        return Response(report_data(report))

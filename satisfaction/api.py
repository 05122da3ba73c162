"""API of the satisfaction app: KPIs, manufacturer score imports, targets and improvement
plans, registered on the /api/v1/ router. Commands call the services."""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crm_site import errors, validation
from crm_site.permissions import ActionPermissions
from crm_site.schema import OneObjectSchema
from crm_site.scoping import for_user
from crm_site.throttling import ImportThrottle

from . import analysis, rules, selectors, services
from .filters import ImprovementPlanFilter
from .models import Countermeasure, CustomerBand, ImprovementPlan, Measure, ScoreImport, Target


class ModelPermissions(permissions.DjangoModelPermissions):
    """Reading needs the view permission too."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map,
                 "GET": ["%(app_label)s.view_%(model_name)s"]}


# KPIs -----------------------------------------------------------------------------------------------

class KpiSerializer(validation.Serializer):
    store = serializers.IntegerField(source="store_id")
    period = serializers.DateField()
    measure = serializers.ChoiceField(choices=Measure.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True,
                                     help_text="null: not applicable (nothing due in the period)")
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    target = serializers.SerializerMethodField()
    threshold = serializers.SerializerMethodField()
    status = serializers.CharField(allow_null=True, help_text="met, below (plan) or missed")
    grade = serializers.CharField(allow_blank=True)
    grade_status = serializers.CharField(allow_null=True)

    def get_target(self, figure) -> float | None:
        return float(figure.target.value) if figure.target else None

    def get_threshold(self, figure) -> float | None:
        if figure.target and figure.target.threshold is not None:
            return float(figure.target.threshold)
        return None


class KpiViewSet(viewsets.ViewSet):
    """Figures per store, measure and month (default: the current month, Beijing time),
    for the caller's stores, each with its target and status."""

    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_dashboard"}

    @extend_schema(
        parameters=[
            OpenApiParameter("store", OpenApiTypes.INT, description="store id (default: all yours)"),
            OpenApiParameter("period", OpenApiTypes.STR, description="YYYY-MM"),
            OpenApiParameter("months", OpenApiTypes.INT, description="months back from period (1-24)"),
            OpenApiParameter("measure", OpenApiTypes.STR, enum=Measure.values),
        ],
        responses=KpiSerializer(many=True),
    )
    def list(self, request):
        stores = selectors.stores_for(request.user)
        if request.query_params.get("store"):
            try:
                stores = stores.filter(pk=int(request.query_params["store"]))
            except ValueError:
                raise ValidationError({"store": "not a number"}) from None
        try:
            period = rules.parse_period(request.query_params.get("period")
                                        or timezone.localdate())
            months = min(max(int(request.query_params.get("months", 1)), 1), 24)
        except ValueError:
            raise ValidationError({"period": "YYYY-MM; months 1-24"}) from None
        figures = selectors.kpi_table(stores.values_list("pk", flat=True),
                                      rules.months_back(period, months), live_periods=[period])
        measure = validation.query_choice(request.query_params, "measure", Measure.values)
        if measure:
            figures = [f for f in figures if f.measure == measure]
        return Response(KpiSerializer(figures, many=True).data)


# Who our customers are -------------------------------------------------------------------------------

class AnalysisRowSerializer(validation.Serializer):
    key = serializers.CharField(allow_blank=True,
                                help_text="the value, band id or reason id; empty: not recorded")
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="customers")
    share = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True,
                                     help_text="percent of the breakdown's customers")


class BreakdownSerializer(validation.Serializer):
    code = serializers.ChoiceField(choices=list(analysis.BREAKDOWNS))
    side = serializers.ChoiceField(choices=[analysis.SALES, analysis.SERVICE])
    title = serializers.CharField()
    total = serializers.IntegerField()
    rows = AnalysisRowSerializer(many=True)


class CustomerAnalysisSerializer(validation.Serializer):
    store = serializers.IntegerField(source="store.pk")
    period = serializers.CharField(source="span.text")
    start = serializers.DateField(source="span.start")
    end = serializers.DateField(source="span.last_day")
    day = serializers.DateField(help_text="ages and lapses are counted on this day")
    lapsed_after_days = serializers.IntegerField()
    computed_at = serializers.DateTimeField(allow_null=True,
                                            help_text="null: computed now; else read from the summary")
    breakdowns = BreakdownSerializer(many=True)


class CustomerAnalysisViewSet(viewsets.ViewSet):
    """Who our customers are: the breakdowns of one of the caller's stores (default: the
    first) for a month, quarter or year (default: the current month, Beijing time)."""

    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_customer_analysis"}
    schema = OneObjectSchema()

    @extend_schema(
        parameters=[
            OpenApiParameter("store", OpenApiTypes.INT, description="store id (default: your first store)"),
            OpenApiParameter("period", OpenApiTypes.STR, description="YYYY-MM, YYYY-Qn or YYYY"),
        ],
        responses=CustomerAnalysisSerializer,
    )
    def list(self, request):
        stores = selectors.stores_for(request.user)
        wanted = request.query_params.get("store")
        if wanted:
            try:
                store = stores.filter(pk=int(wanted)).first()
            except ValueError:
                raise ValidationError({"store": _("门店编号无效。")}) from None
            if store is None:
                raise NotFound
        else:
            store = stores.first()
            if store is None:
                raise NotFound
        try:
            span = rules.parse_span(request.query_params.get("period")
                                    or f"{timezone.localdate():%Y-%m}")
        except ValueError:
            raise ValidationError({"period": _("期间格式应为 2026-05、2026-Q2 或 2026。")}) from None
        data = selectors.customer_analysis(store, span)
        return Response(CustomerAnalysisSerializer(data).data)


class CustomerBandSerializer(validation.ModelSerializer):
    class Meta:
        model = CustomerBand
        fields = ["id", "kind", "label", "lower", "upper", "order", "is_active"]


class CustomerBandWriteSerializer(CustomerBandSerializer):
    note = serializers.CharField(max_length=100, write_only=True)

    class Meta(CustomerBandSerializer.Meta):
        fields = [*CustomerBandSerializer.Meta.fields, "note"]


class CustomerBandViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin,
                          viewsets.ReadOnlyModelViewSet):
    """The bands of the customer analysis (age, mileage, loyalty tiers). Managers add and
    change them with a change note (the settings page does the same); retire a band with
    is_active false."""

    serializer_class = CustomerBandSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_customerband",
                          "create": "satisfaction.add_customerband",
                          "update": "satisfaction.change_customerband",
                          "partial_update": "satisfaction.change_customerband"}
    queryset = CustomerBand.objects.order_by("kind", "order", "lower", "id")

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return CustomerBandWriteSerializer
        return CustomerBandSerializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.customer_band_save(
            actor=self.request.user, band=None, note=data.pop("note"), **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.customer_band_save(
            actor=self.request.user, band=serializer.instance, note=data.pop("note", ""), **data)


# Score imports --------------------------------------------------------------------------------------

class ScoreImportSerializer(validation.ModelSerializer):
    uploaded_by = serializers.StringRelatedField()
    errors = serializers.ListField(child=inline_serializer("ImportError", {
        "row": serializers.IntegerField(), "column": serializers.CharField(),
        "message": serializers.CharField()}), read_only=True)

    class Meta:
        model = ScoreImport
        fields = ["id", "file_name", "uploaded_by", "uploaded_at", "status", "row_count", "errors",
                  "stores"]
        read_only_fields = fields


class ScoreImportUploadSerializer(validation.Serializer):
    file = serializers.FileField(help_text=".xlsx or .csv with the manufacturer's item scores")


class ScoreImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Manufacturer CSS/CSI files. POST a file: imported whole or not at all; a rejected
    file answers 400 with every bad row's number and reason."""

    serializer_class = ScoreImportSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["status"]

    def get_throttles(self):
        return [ImportThrottle()] if self.action == "create" else super().get_throttles()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScoreImport.objects.none()
        return selectors.imports_for(self.request.user).prefetch_related("stores").order_by("-id")

    @extend_schema(request={"multipart/form-data": ScoreImportUploadSerializer},
                   responses={201: ScoreImportSerializer, 400: OpenApiResponse(
                       OpenApiTypes.OBJECT, description="The error body (crm_site.errors); for a "
                       "rejected file also `import`: the rejected import with its errors by row.")})
    def create(self, request, *args, **kwargs):
        upload = ScoreImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        score_import = services.score_import_file(actor=request.user, name=file.name,
                                                  content=file.read())
        data = ScoreImportSerializer(score_import).data
        if score_import.status == ScoreImport.Status.IMPORTED:
            return Response(data, status=status.HTTP_201_CREATED)
        message = _("文件有 %(count)s 处错误，未导入。") % {"count": len(score_import.errors)}
        body = errors.invalid_body({"file": [{"code": "rejected", "message": message}]})
        return Response({**body, "import": data}, status=status.HTTP_400_BAD_REQUEST)


# Targets --------------------------------------------------------------------------------------------

class TargetSerializer(validation.ModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "measure", "store", "period", "value", "threshold", "secure_grade",
                  "strive_grade", "note"]
        validators = []  # the service sets a scope's target whether or not it exists

    def validate_store(self, store):
        if store is not None and not for_user(type(store).objects.filter(pk=store.pk),
                                              self.context["request"].user, "pk").exists():
            raise serializers.ValidationError("not one of your stores")
        return store


class TargetViewSet(viewsets.ModelViewSet):
    """Targets: defaults for every store (no store) and per store / month. Writing one
    sets the target of that scope (measure, store, month)."""

    serializer_class = TargetSerializer
    permission_classes = [ModelPermissions]
    filterset_fields = ["measure", "store", "period"]

    def get_queryset(self):
        stores = selectors.stores_for(self.request.user)
        return Target.objects.filter(Q(store__isnull=True) | Q(store__in=stores)).order_by(
            "measure", "store_id", "period", "id")

    def perform_create(self, serializer):
        serializer.instance = services.target_set(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        instance = serializer.instance
        data = {"measure": instance.measure, "store": instance.store, "period": instance.period,
                "value": instance.value, "threshold": instance.threshold,
                "secure_grade": instance.secure_grade, "strive_grade": instance.strive_grade,
                "note": instance.note, **serializer.validated_data}
        serializer.instance = services.target_set(actor=self.request.user, **data)

    def perform_destroy(self, instance):
        if instance.store is None and not self.request.user.is_superuser:
            raise PermissionDenied("default targets are kept; set a store target instead")
        instance.delete()


# Improvement plans ----------------------------------------------------------------------------------

class CountermeasureSerializer(validation.ModelSerializer):
    class Meta:
        model = Countermeasure
        fields = ["id", "action", "owner", "due_on", "done_on", "result"]


class ImprovementPlanSerializer(validation.ModelSerializer):
    countermeasures = CountermeasureSerializer(many=True, read_only=True)
    whys = serializers.ListField(child=serializers.CharField(max_length=300), max_length=5,
                                 required=False)

    class Meta:
        model = ImprovementPlan
        fields = ["id", "store", "title", "weak_item", "complaint_category", "inspection_area",
                  "department", "owner", "status", "step", "problem", "breakdown", "target_text",
                  "target_score", "whys", "root_cause", "implementation", "evaluation",
                  "standardisation", "approved_by", "approved_at", "last_checked_period",
                  "last_checked_score", "closed_at", "closed_by", "closed_how", "close_reason",
                  "countermeasures", "created_at"]
        read_only_fields = ["status", "step", "approved_by", "approved_at", "last_checked_period",
                            "last_checked_score", "closed_at", "closed_by", "closed_how",
                            "close_reason", "created_at"]


class PlanCloseSerializer(validation.Serializer):
    reason = serializers.CharField()


class ImprovementPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.CreateModelMixin, mixins.UpdateModelMixin,
                             viewsets.GenericViewSet):
    """PDCA improvement plans. Explicit actions: advance (next step), approve, close (a
    manager, with a reason), countermeasures (add one). Plans close themselves when their
    item recovers in a later month's report."""

    serializer_class = ImprovementPlanSerializer
    permission_classes = [ModelPermissions, ActionPermissions]
    action_permissions = {"advance": "satisfaction.change_improvementplan",
                          "approve": "satisfaction.approve_improvementplan",
                          "close": "satisfaction.close_improvementplan",
                          "countermeasures": "satisfaction.change_improvementplan"}
    filterset_class = ImprovementPlanFilter

    def get_queryset(self):
        return selectors.plans_for(self.request.user).prefetch_related("countermeasures").order_by("-id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        store = data.pop("store")
        serializer.instance = services.improvement_plan_create(actor=self.request.user, store=store,
                                                               **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "store" in data and data.pop("store") != serializer.instance.store:
            raise ValidationError({"store": "a plan stays with its store"})
        serializer.instance = services.improvement_plan_update(
            actor=self.request.user, plan=serializer.instance, **data)

    def _command(self, function, **kwargs):
        plan = function(actor=self.request.user, plan=self.get_object(), **kwargs)
        plan = self.get_queryset().get(pk=plan.pk)
        return Response(self.get_serializer(plan).data)

    @extend_schema(request=None, responses=ImprovementPlanSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, *args, **kwargs):
        return self._command(services.improvement_plan_advance)

    @extend_schema(request=None, responses=ImprovementPlanSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._command(services.improvement_plan_approve)

    @extend_schema(request=PlanCloseSerializer, responses=ImprovementPlanSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        self.get_object()  # another store's plan: 404 before the body is looked at
        body = PlanCloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._command(services.improvement_plan_close, reason=body.validated_data["reason"])

    @extend_schema(request=CountermeasureSerializer, responses=ImprovementPlanSerializer)
    @action(detail=True, methods=["post"])
    def countermeasures(self, request, *args, **kwargs):
        self.get_object()  # another store's plan: 404 before the body is looked at
        body = CountermeasureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        def add(*, actor, plan):
            services.countermeasure_add(actor=actor, plan=plan, action=data["action"],
                                        owner=data["owner"], due_on=data["due_on"])
            return plan
        return self._command(add)


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("kpis", KpiViewSet, basename="kpi")
    router.register("customer-analysis", CustomerAnalysisViewSet, basename="customer-analysis")
    router.register("customer-bands", CustomerBandViewSet, basename="customer-band")
    router.register("score-imports", ScoreImportViewSet, basename="score-import")
    router.register("targets", TargetViewSet, basename="target")
    router.register("improvement-plans", ImprovementPlanViewSet, basename="improvement-plan")
    from .team.api import register as register_team

    register_team(router)

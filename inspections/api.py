"""API of the inspections app: checklists, inspection rounds and rectifications on the
/api/v1/ router. Reads are scoped to the caller's stores; every command is an action
calling the same service as the pages. Photos are uploaded as multipart/form-data."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from crm_site import validation
from crm_site.models import User
from crm_site.permissions import ActionPermissions

from . import selectors, services
from .filters import RectificationFilter
from .models import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionResult,
    Outcome,
    Photo,
    Rectification,
    Severity,
)


class PhotoSerializer(validation.ModelSerializer):
    url = serializers.ImageField(source="image", read_only=True)
    uploaded_by = serializers.StringRelatedField()

    class Meta:
        model = Photo
        fields = ["id", "kind", "url", "width", "height", "size", "uploaded_by", "uploaded_at"]
        read_only_fields = fields


# Checklists -------------------------------------------------------------------------------

class ChecklistItemSerializer(validation.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "position", "text", "weight", "photo_required", "severity"]


class ChecklistSerializer(validation.ModelSerializer):
    items = ChecklistItemSerializer(source="active_items", many=True, read_only=True)
    times = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistTemplate
        fields = ["id", "store", "area", "name", "version", "responsible", "is_active", "times", "items"]
        read_only_fields = fields

    def get_times(self, template) -> list[str]:
        return [f"{rule.time_of_day:%H:%M}" for rule in template.rules.all() if rule.is_active]


class ChecklistItemWriteSerializer(validation.Serializer):
    text = serializers.CharField(max_length=300, required=False)
    weight = serializers.IntegerField(min_value=1, max_value=100, required=False)
    photo_required = serializers.BooleanField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    position = serializers.IntegerField(min_value=0, required=False)


class ChecklistItemAddSerializer(ChecklistItemWriteSerializer):
    text = serializers.CharField(max_length=300)
    weight = serializers.IntegerField(min_value=1, max_value=100)


class ChecklistViewSet(viewsets.ReadOnlyModelViewSet):
    """Checklist templates of the caller's stores with their items in force. Changing an
    item creates a new template version; past rounds keep their copy."""

    serializer_class = ChecklistSerializer
    filterset_fields = ["store", "area", "is_active"]
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "inspections.view_checklisttemplate",
                          "add_item": "inspections.change_checklisttemplate",
                          "change_item": "inspections.change_checklisttemplate"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or \
                not self.request.user.has_perm("inspections.view_checklisttemplate"):
            return ChecklistTemplate.objects.none()
        return selectors.checklists_for(self.request.user)

    def _fresh(self, pk):
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=ChecklistItemAddSerializer, responses=ChecklistSerializer)
    @action(detail=True, methods=["post"], url_path="items")
    def add_item(self, request, *args, **kwargs):
        """Add an item (text and weight required)."""
        template = self.get_object()
        data = ChecklistItemAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.checklist_item_add(actor=request.user, template=template, **data.validated_data)
        return self._fresh(template.pk)

    @extend_schema(request=ChecklistItemWriteSerializer, responses=ChecklistSerializer)
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<item_id>\d+)")
    def change_item(self, request, item_id=None, *args, **kwargs):
        """Change an item; an item already answered is replaced by a new one."""
        template = self.get_object()
        item = get_object_or_404(template.items.filter(is_active=True), pk=item_id)
        data = ChecklistItemWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.checklist_item_update(actor=request.user, item=item, **data.validated_data)
        return self._fresh(template.pk)


# Inspections ------------------------------------------------------------------------------

class ResultSerializer(validation.ModelSerializer):
    photos = PhotoSerializer(many=True, read_only=True)
    rectification = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = InspectionResult
        fields = ["id", "position", "text", "weight", "severity", "photo_required", "outcome", "note",
                  "responsible", "answered_at", "photos", "rectification"]
        read_only_fields = fields


class InspectionSerializer(validation.ModelSerializer):
    """A round with its results (empty until started); the copy of each item it was
    scored against."""

    inspector = serializers.StringRelatedField()
    results = ResultSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "store", "area", "template", "template_version", "day", "scheduled_for", "status",
                  "inspector", "started_at", "completed_at", "score", "pass_count", "fail_count",
                  "na_count", "results"]
        read_only_fields = fields


class AnswerSerializer(validation.Serializer):
    result = serializers.IntegerField(help_text="id of the result (item of this round)")
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    responsible = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True),
                                                     required=False, allow_null=True)


class ResultPhotoSerializer(validation.Serializer):
    result = serializers.IntegerField(help_text="id of the result (item of this round)")
    photo = serializers.FileField(help_text="JPEG, PNG or WebP; checked by content, resized")


class InspectionViewSet(viewsets.ReadOnlyModelViewSet):
    """Inspection rounds of the caller's stores. `start` copies the checklist onto the
    round, `answer` saves one item, `photos` adds a failure photo, `complete` scores the
    round and opens a rectification for each failure."""

    filterset_fields = ["store", "area", "day", "status"]
    ordering_fields = ["scheduled_for", "score"]

    serializer_class = InspectionSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "inspections.view_inspection",
                          "start": "inspections.perform_inspection",
                          "answer": "inspections.perform_inspection",
                          "photos": "inspections.perform_inspection",
                          "complete": "inspections.perform_inspection"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or \
                not self.request.user.has_perm("inspections.view_inspection"):
            return Inspection.objects.none()
        return selectors.inspection_with_results(self.request.user).order_by("-scheduled_for", "id")

    def _fresh(self, pk):
        inspection = selectors.inspection_with_results(self.request.user).get(pk=pk)
        return Response(self.get_serializer(inspection).data)

    def _result(self, inspection, result_id):
        try:
            return inspection.results.get(pk=result_id)
        except InspectionResult.DoesNotExist as error:
            raise exceptions.ValidationError({"result": [_("该检查没有这一项。")]}) from error

    @extend_schema(request=None, responses=InspectionSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, *args, **kwargs):
        inspection = self.get_object()
        services.inspection_start(inspection=inspection, actor=request.user)
        return self._fresh(inspection.pk)

    @extend_schema(request=AnswerSerializer, responses=InspectionSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, *args, **kwargs):
        inspection = self.get_object()
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = self._result(inspection, values["result"])
        services.inspection_answer(result=result, actor=request.user, outcome=values["outcome"],
                                   note=values.get("note"), responsible=values.get("responsible"))
        return self._fresh(inspection.pk)

    @extend_schema(request={"multipart/form-data": ResultPhotoSerializer}, responses={201: PhotoSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, *args, **kwargs):
        inspection = self.get_object()
        data = ResultPhotoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = self._result(inspection, data.validated_data["result"])
        photo = services.result_add_photo(result=result, actor=request.user,
                                          upload=data.validated_data["photo"])
        return Response(PhotoSerializer(photo, context=self.get_serializer_context()).data, status=201)

    @extend_schema(request=None, responses=InspectionSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, *args, **kwargs):
        inspection = self.get_object()
        services.inspection_complete(inspection=inspection, actor=request.user)
        return self._fresh(inspection.pk)


# Rectifications -----------------------------------------------------------------------------

class RectificationSerializer(validation.ModelSerializer):
    text = serializers.CharField(source="result.text", read_only=True)
    note = serializers.CharField(source="result.note", read_only=True)
    responsible_name = serializers.StringRelatedField(source="responsible")
    before_photos = serializers.SerializerMethodField()
    after_photos = PhotoSerializer(source="photos", many=True, read_only=True)
    counts_against = serializers.BooleanField(read_only=True)

    class Meta:
        model = Rectification
        fields = ["id", "store", "inspection", "area", "severity", "text", "note", "responsible",
                  "responsible_name", "status", "notified_at", "due_at", "fixed_at", "fix_note",
                  "verified_at", "verified_by", "verify_note", "reopened_count", "overdue_at",
                  "counts_against", "before_photos", "after_photos"]
        read_only_fields = fields

    @extend_schema_field(PhotoSerializer(many=True))
    def get_before_photos(self, rectification):
        photos = [p for p in rectification.result.photos.all() if p.kind == Photo.Kind.BEFORE]
        return PhotoSerializer(photos, many=True, context=self.context).data


class FixSerializer(validation.Serializer):
    photo = serializers.FileField(required=False, help_text="the after photo (or upload it before)")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class AfterPhotoSerializer(validation.Serializer):
    photo = serializers.FileField(help_text="JPEG, PNG or WebP; checked by content, resized")


class VerifySerializer(validation.Serializer):
    passed = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RectificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Rectifications of the caller's stores (only their own for a responsible person
    without wider rights). `photos` adds an after photo, `fix` reports the fix, `verify`
    records the re-check."""

    serializer_class = RectificationSerializer
    filterset_class = RectificationFilter
    # Reading: own rectifications for anyone, all of the stores with view_rectification
    # (see selectors.rectifications_for); fixing is checked per row by the service.
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"verify": "inspections.verify_rectification"}
    ordering_fields = ["due_at", "notified_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Rectification.objects.none()
        return selectors.rectifications_for(self.request.user).order_by("due_at", "id")

    def _fresh(self, pk):
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request={"multipart/form-data": AfterPhotoSerializer}, responses={201: PhotoSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, *args, **kwargs):
        rectification = self.get_object()
        data = AfterPhotoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        photo = services.rectification_add_photo(rectification=rectification, actor=request.user,
                                                 upload=data.validated_data["photo"])
        return Response(PhotoSerializer(photo, context=self.get_serializer_context()).data, status=201)

    @extend_schema(request={"multipart/form-data": FixSerializer}, responses=RectificationSerializer)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def fix(self, request, *args, **kwargs):
        rectification = self.get_object()
        data = FixSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.rectification_fix(rectification=rectification, actor=request.user,
                                   note=data.validated_data.get("note", ""),
                                   upload=data.validated_data.get("photo"))
        return self._fresh(rectification.pk)

    @extend_schema(request=VerifySerializer, responses=RectificationSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def verify(self, request, *args, **kwargs):
        rectification = self.get_object()
        data = VerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.rectification_verify(rectification=rectification, actor=request.user,
                                      passed=data.validated_data["passed"],
                                      note=data.validated_data.get("note", ""))
        return self._fresh(rectification.pk)


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("checklists", ChecklistViewSet, basename="checklist")
    from crm_site.settings_pages import settings_viewset

    from .views import CHECK_TIMES, FIX_MINUTES

    router.register("check-times", settings_viewset(
        CHECK_TIMES, view_permission="inspections.view_roundrule",
        add_permission="inspections.add_roundrule",
        change_permission="inspections.change_roundrule"), basename="check-time")
    router.register("fix-minutes", settings_viewset(
        FIX_MINUTES, view_permission="inspections.view_deadlinepolicy",
        add_permission="inspections.add_deadlinepolicy",
        change_permission="inspections.change_deadlinepolicy"), basename="fix-minutes")
    router.register("inspections", InspectionViewSet, basename="inspection")
    router.register("rectifications", RectificationViewSet, basename="rectification")

"""API of the complaints app: /api/v1/complaints/ with explicit actions that call the
same services as the pages."""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm_site import validation
from crm_site.models import User
from crm_site.permissions import ActionPermissions
from crm_site.scoping import for_user, stores_of

from . import selectors, services
from .filters import ComplaintFilter
from .models import SLA_POLICY_FIELDS, Complaint, ComplaintEvent, Reason, Severity, SlaPolicy


class EventSerializer(validation.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = ComplaintEvent
        fields = ["id", "kind", "clock", "round", "at", "recorded_at", "actor", "note", "data"]
        read_only_fields = fields


class ComplaintSerializer(validation.ModelSerializer):
    important_reasons = serializers.SerializerMethodField()
    sla_state = serializers.SerializerMethodField()
    next_action = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "id", "store", "customer", "customer_name", "vehicle", "channel", "category",
            "description", "severity", "important_reasons", "department", "department_manager",
            "owner", "logged_by", "status", "round", "root_cause", "corrective_action",
            "department_feedback", "resolution", "is_repeat", "repeat_of",
            "received_at", "created_at",
            "response_warn_at", "response_due_at", "responded_at",
            "resolution_warn_at", "resolution_due_at", "resolved_at",
            "paused_at", "pause_reason", "paused_seconds",
            "handed_off_at", "department_warn_at", "department_due_at", "department_feedback_at",
            "callback_at", "closed_at", "sla_state", "next_action", "allowed_actions",
        ]
        read_only_fields = fields

    def get_important_reasons(self, complaint) -> list[str]:
        return list(complaint.important_reasons)

    def get_sla_state(self, complaint) -> str:
        return str(complaint.sla_state(self.context.get("now") or timezone.now()))

    def get_next_action(self, complaint) -> str | None:
        return complaint.next_action()

    def get_allowed_actions(self, complaint) -> list[str]:
        return complaint.allowed_actions()


class ComplaintDetailSerializer(ComplaintSerializer):
    events = EventSerializer(many=True, read_only=True)

    class Meta(ComplaintSerializer.Meta):
        fields = [*ComplaintSerializer.Meta.fields, "events"]
        read_only_fields = fields


class ComplaintOpenSerializer(validation.Serializer):
    customer = serializers.IntegerField()
    vehicle = serializers.IntegerField(required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=Complaint.Channel.choices)
    category = serializers.ChoiceField(choices=Complaint.Category.choices)
    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.GENERAL)
    important_reasons = serializers.ListField(
        child=serializers.CharField(max_length=1), required=False, default=list,
        help_text="Letters A-H: " + ", ".join(Reason.values))
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    department = serializers.ChoiceField(choices=Complaint.Department.choices, required=False,
                                         allow_blank=True, default="")
    owner = serializers.IntegerField(required=False, allow_null=True)


class RespondSerializer(validation.Serializer):
    channel = serializers.ChoiceField(choices=list(services.CONTACT_CHANNELS.items()))
    note = serializers.CharField()
    contacted_at = serializers.DateTimeField(required=False, allow_null=True)


class HandOffSerializer(validation.Serializer):
    department = serializers.ChoiceField(choices=Complaint.Department.choices)
    department_manager = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FeedbackSerializer(validation.Serializer):
    feedback = serializers.CharField()
    root_cause = serializers.CharField(required=False, allow_blank=True, default="")
    corrective_action = serializers.CharField(required=False, allow_blank=True, default="")


class ResolveSerializer(validation.Serializer):
    resolution = serializers.CharField()
    root_cause = serializers.CharField(required=False, allow_blank=True, default="")
    corrective_action = serializers.CharField(required=False, allow_blank=True, default="")


class CallbackSerializer(validation.Serializer):
    satisfied = serializers.BooleanField()
    note = serializers.CharField()


class ReissueSerializer(validation.Serializer):
    note = serializers.CharField()
    department = serializers.ChoiceField(choices=Complaint.Department.choices, required=False,
                                         allow_blank=True, default="")


class PauseSerializer(validation.Serializer):
    reason = serializers.CharField(max_length=200)


class ResumeSerializer(validation.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ClassifySerializer(validation.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    important_reasons = serializers.ListField(child=serializers.CharField(max_length=1),
                                              required=False, default=list)
    category = serializers.ChoiceField(choices=Complaint.Category.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ComplaintPermission(permissions.BasePermission):
    """Reading needs view_complaint, logging add_complaint (the lounge logs complaints
    without reading the board), the department's feedback record_department_feedback,
    every other action change_complaint (and view_complaint)."""

    def has_permission(self, request, view):
        user = request.user
        if view.action == "create":
            return user.has_perm("complaints.add_complaint")
        if not user.has_perm("complaints.view_complaint"):
            return False
        if view.action == "department_feedback":
            return user.has_perm("complaints.record_department_feedback")
        if view.action in ComplaintViewSet.COMMANDS:
            return user.has_perm("complaints.change_complaint")
        return True


class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Complaints of the caller's stores. Writes go through the explicit actions."""

    permission_classes = [permissions.IsAuthenticated, ComplaintPermission]
    filterset_class = ComplaintFilter
    ordering_fields = ["received_at", "response_due_at", "resolution_due_at", "id"]
    COMMANDS = {"respond", "hand_off", "department_feedback", "resolve", "callback", "reissue",
                "pause", "resume", "classify"}

    def get_queryset(self):
        qs = selectors.complaints_for(self.request.user).select_related("customer")
        if self.action == "retrieve":
            qs = qs.prefetch_related("events__actor")
        return qs.order_by("-received_at", "-id")

    def get_serializer_class(self):
        if self.action == "retrieve" or self.action in self.COMMANDS:
            return ComplaintDetailSerializer
        if self.action == "create":
            return ComplaintOpenSerializer
        return ComplaintSerializer

    def _detail(self, complaint, code=status.HTTP_200_OK):
        complaint = self.get_queryset().prefetch_related("events__actor").get(pk=complaint.pk)
        return Response(ComplaintDetailSerializer(complaint, context=self.get_serializer_context())
                        .data, status=code)

    def _scoped(self, model, pk, field):
        if pk in (None, ""):
            return None
        try:
            return for_user(model.objects.all(), self.request.user, "store" if model is not User
                            else "stores").distinct().get(pk=pk)
        except model.DoesNotExist as error:
            raise ValidationError({field: [_("不存在或不属于您所在的门店。")]}) from error

    @extend_schema(request=ComplaintOpenSerializer, responses={201: ComplaintDetailSerializer})
    def create(self, request, *args, **kwargs):
        from customers.models import Customer, Vehicle

        data = ComplaintOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        customer = self._scoped(Customer, values.pop("customer"), "customer")
        vehicle = self._scoped(Vehicle, values.pop("vehicle", None), "vehicle")
        owner = self._scoped(User, values.pop("owner", None), "owner")
        complaint = services.complaint_open(actor=request.user, customer=customer,
                                            vehicle=vehicle, owner=owner, **values)
        return self._detail(complaint, status.HTTP_201_CREATED)

    def _command(self, request, serializer_class, service, **extra):
        complaint = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        updated = service(actor=request.user, complaint=complaint,
                          **data.validated_data, **extra)
        return self._detail(updated)

    @extend_schema(request=RespondSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        """Log the first real contact with the customer (stops the response clock)."""
        return self._command(request, RespondSerializer, services.complaint_respond)

    @extend_schema(request=HandOffSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"], url_path="hand-off")
    def hand_off(self, request, pk=None):
        """Issue the complaint form to the responsible department."""
        complaint = self.get_object()
        data = HandOffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        manager = self._scoped(User, values.pop("department_manager", None),
                               "department_manager")
        updated = services.complaint_hand_off(actor=request.user, complaint=complaint,
                                              department_manager=manager, **values)
        return self._detail(updated)

    @extend_schema(request=FeedbackSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"], url_path="department-feedback")
    def department_feedback(self, request, pk=None):
        """The department reports its handling (stops the department clock)."""
        return self._command(request, FeedbackSerializer,
                             services.complaint_record_department_feedback)

    @extend_schema(request=ResolveSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Record the resolution (the first stops the resolution clock)."""
        return self._command(request, ResolveSerializer, services.complaint_resolve)

    @extend_schema(request=CallbackSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def callback(self, request, pk=None):
        """Record the call back: satisfied closes, not satisfied reissues."""
        return self._command(request, CallbackSerializer, services.complaint_record_callback)

    @extend_schema(request=ReissueSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def reissue(self, request, pk=None):
        """Issue the complaint form again: a new round with a new department deadline."""
        complaint = self.get_object()
        data = ReissueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["department"] = values.get("department") or None
        updated = services.complaint_reissue(actor=request.user, complaint=complaint,
                                             **values)
        return self._detail(updated)

    @extend_schema(request=PauseSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause the resolution clock (waiting on the customer or the manufacturer)."""
        return self._command(request, PauseSerializer, services.complaint_pause)

    @extend_schema(request=ResumeSerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Resume the resolution clock; its deadline moves by the paused time."""
        return self._command(request, ResumeSerializer, services.complaint_resume)

    @extend_schema(request=ClassifySerializer, responses=ComplaintDetailSerializer)
    @action(detail=True, methods=["post"])
    def classify(self, request, pk=None):
        """Change severity, important reasons or category; deadlines follow the policy."""
        return self._command(request, ClassifySerializer, services.complaint_classify)


# SLA policies ------------------------------------------------------------------------------


class SlaPolicySerializer(validation.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", "store", "severity", *SLA_POLICY_FIELDS]
        read_only_fields = fields


class SlaPolicySetSerializer(validation.Serializer):
    """Set the policy of a severity for a store (no store: the group's default)."""

    store = serializers.IntegerField(required=False, allow_null=True)
    severity = serializers.ChoiceField(choices=Severity.choices)
    response_minutes = serializers.IntegerField(min_value=1)
    resolution_minutes = serializers.IntegerField(min_value=1)
    department_days = serializers.IntegerField(min_value=1)
    warning_percent = serializers.IntegerField(min_value=1, max_value=99)
    repeat_window_days = serializers.IntegerField(min_value=0)
    working_hours_only = serializers.BooleanField(default=False)
    note = serializers.CharField(max_length=100)


class SlaPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    """The group's SLA policies and the overrides of the caller's stores. POST sets a
    store's policy of one severity (creating the override on its first change)."""

    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "complaints.view_slapolicy",
                          "create": "complaints.change_slapolicy"}
    serializer_class = SlaPolicySerializer
    filterset_fields = ["store", "severity"]

    def get_queryset(self):
        return selectors.sla_policies(self.request.user)

    @extend_schema(request=SlaPolicySetSerializer, responses={201: SlaPolicySerializer})
    def create(self, request, *args, **kwargs):
        data = SlaPolicySetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        store_id, severity, note = values.pop("store", None), values.pop("severity"), \
            values.pop("note")
        store = None
        if store_id is not None:
            store = stores_of(request.user).filter(pk=store_id).first()
            if store is None:
                raise ValidationError({"store": [_("不存在或不属于您所在的门店。")]})
        policy = services.sla_policy_set(actor=request.user, store=store, severity=severity,
                                         note=note, **values)
        return Response(SlaPolicySerializer(policy).data, status=status.HTTP_201_CREATED)


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("complaints", ComplaintViewSet, basename="complaint")
    router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")


"""API of the followups app: programmes, the task ledger with its outcome command, and
appointments, registered on the /api/v1/ router."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from crm_site.scoping import for_user
from customers.models import Customer, Vehicle

from . import services
from .models import Appointment, Outcome, Programme, RefusalReason, SatisfactionAnswer, Step, Task


def _call(func, **kwargs):
    try:
        return func(**kwargs)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error
    except DjangoPermissionDenied as error:
        raise PermissionDenied(str(error)) from error


class StepSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(read_only=True, help_text="sms, call or list")

    class Meta:
        model = Step
        fields = ["id", "code", "order", "offset_days", "offset_minutes", "due_within_days",
                  "channel", "purpose", "sms_template_code", "sms_text", "script",
                  "only_until_came_in", "asks_satisfaction", "is_active"]


class ProgrammeSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "code", "name", "anchor", "description", "closes_on_visit",
                  "is_active", "order", "steps"]


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    """Reminder programmes and their steps (rules as data; edited in the UI)."""

    serializer_class = ProgrammeSerializer
    filterset_fields = ["code", "anchor", "is_active"]

    def get_queryset(self):
        if not self.request.user.has_perm("followups.view_programme"):
            return Programme.objects.none()
        return Programme.objects.prefetch_related("steps").order_by("order", "code")


class TaskSerializer(serializers.ModelSerializer):
    programme = serializers.CharField(source="programme_code", read_only=True)
    step = serializers.CharField(source="step.code", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    plate = serializers.CharField(source="vehicle.plate", read_only=True, default="")
    outcome = serializers.CharField(source="outcome.code", read_only=True, default=None)
    reason = serializers.CharField(source="reason.code", read_only=True, default=None)
    channel = serializers.CharField(read_only=True, help_text="sms or call")

    class Meta:
        model = Task
        fields = ["id", "store", "programme", "step", "customer", "customer_name", "vehicle",
                  "plate", "due_on", "offset_days", "planned_on", "deadline_on", "channel",
                  "status", "assignee", "outcome", "outcome_kind", "reason", "notes",
                  "attempts", "complaint_id", "cancel_reason", "created_at", "done_at"]
        read_only_fields = fields


class SatisfactionAnswerInputSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    rating = serializers.ChoiceField(choices=SatisfactionAnswer.Rating.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TaskOutcomeSerializer(serializers.Serializer):
    outcome = serializers.SlugRelatedField(slug_field="code",
                                           queryset=Outcome.objects.filter(is_active=True))
    reason = serializers.SlugRelatedField(slug_field="code", required=False, allow_null=True,
                                          queryset=RefusalReason.objects.filter(is_active=True))
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    appointment_on = serializers.DateField(required=False, allow_null=True)
    appointment_purpose = serializers.CharField(required=False, allow_blank=True, default="")
    answers = SatisfactionAnswerInputSerializer(many=True, required=False, default=list)
    problem = serializers.CharField(required=False, allow_blank=True, default="")


class TaskFilter(filters.FilterSet):
    planned_on = filters.DateFromToRangeFilter()
    programme = filters.CharFilter(field_name="programme_code")

    class Meta:
        model = Task
        fields = ["planned_on", "status", "assignee", "programme", "channel", "customer",
                  "vehicle"]


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    """The task ledger, scoped to the caller's stores. `outcome` records a call."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["planned_on", "due_on", "id"]

    def get_queryset(self):
        if not self.request.user.has_perm("followups.view_task"):
            return Task.objects.none()
        return (for_user(Task.objects.all(), self.request.user)
                .select_related("step", "customer", "vehicle", "outcome", "reason")
                .order_by("planned_on", "due_on", "id"))

    @extend_schema(request=TaskOutcomeSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def outcome(self, request, *args, **kwargs):
        task = self.get_object()
        data = TaskOutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = _call(services.task_record_outcome, task=task, actor=request.user,
                     **data.validated_data)
        task = self.get_queryset().get(pk=task.pk)
        return Response(self.get_serializer(task).data)


class AppointmentSerializer(serializers.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    vehicle = serializers.PrimaryKeyRelatedField(queryset=Vehicle.objects.all(), required=False,
                                                 allow_null=True)

    class Meta:
        model = Appointment
        fields = ["id", "store", "customer", "vehicle", "task", "programme", "due_on",
                  "booked_for", "purpose", "status", "came_in_on", "notes", "created_at"]
        read_only_fields = ["id", "store", "task", "programme", "due_on", "status",
                            "came_in_on", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Another store's customer or car is "not found", like everywhere else.
            self.fields["customer"].queryset = for_user(Customer.objects.all(), request.user)
            self.fields["vehicle"].queryset = for_user(Vehicle.objects.all(), request.user)


class AppointmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Appointments made on calls or by hand; credited when the car comes in."""

    serializer_class = AppointmentSerializer
    filterset_fields = ["status", "booked_for", "customer", "vehicle", "store"]

    def get_queryset(self):
        if not self.request.user.has_perm("followups.view_appointment"):
            return Appointment.objects.none()
        return for_user(Appointment.objects.all(), self.request.user).order_by("-booked_for", "-id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = _call(
            services.appointment_book, actor=self.request.user, customer=data["customer"],
            vehicle=data.get("vehicle"), booked_for=data["booked_for"], purpose=data["purpose"],
            notes=data.get("notes", ""))

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        appointment = _call(services.appointment_cancel, appointment=self.get_object(),
                            actor=request.user)
        return Response(self.get_serializer(appointment).data)


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("programmes", ProgrammeViewSet, basename="programme")
    router.register("followup-tasks", TaskViewSet, basename="followup-task")
    router.register("appointments", AppointmentViewSet, basename="appointment")

"""API of the followups app: programmes, the task ledger with its outcome command,
appointments, the lounge and the owners' club, registered on the /api/v1/ router. Each
viewset names the permission of each action (docs/access-matrix.csv)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from crm_site import validation
from crm_site.models import Store
from crm_site.permissions import ActionPermissions
from crm_site.schema import OneObjectSchema
from crm_site.scoping import for_user, stores_of, works_for
from customers.models import Customer, Vehicle

from . import rules, selectors, services
from .filters import AppointmentFilter, TaskFilter
from .models import (
    Appointment,
    CareClass,
    ClassInvitation,
    ClubLevel,
    ClubMember,
    LoungePreference,
    LoungeVisit,
    Outcome,
    Programme,
    RefusalReason,
    SatisfactionAnswer,
    Step,
    Task,
)


class StepSerializer(validation.ModelSerializer):
    channel = serializers.CharField(read_only=True, help_text="sms, call or list")

    class Meta:
        model = Step
        fields = ["id", "code", "order", "offset_days", "offset_minutes", "due_within_days",
                  "window_end_days",
                  "channel", "purpose", "sms_template_code", "sms_text", "script",
                  "only_until_came_in", "asks_satisfaction", "is_active"]


class ProgrammeSerializer(validation.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "code", "name", "anchor", "description", "closes_on_visit",
                  "closing_kinds", "is_active", "order", "steps"]


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    """Reminder programmes and their steps (rules as data; edited in the UI)."""

    serializer_class = ProgrammeSerializer
    filterset_fields = ["code", "anchor", "is_active"]
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_programme"}

    def get_queryset(self):
        return Programme.objects.prefetch_related("steps").order_by("order", "code")


class TaskSerializer(validation.ModelSerializer):
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
                  "attempts", "complaint", "cancel_reason", "created_at", "done_at"]
        read_only_fields = fields


class SatisfactionAnswerInputSerializer(validation.Serializer):
    question = serializers.IntegerField()
    rating = serializers.ChoiceField(choices=SatisfactionAnswer.Rating.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TaskOutcomeSerializer(validation.Serializer):
    outcome = serializers.SlugRelatedField(slug_field="code",
                                           queryset=Outcome.objects.filter(is_active=True))
    reason = serializers.SlugRelatedField(slug_field="code", required=False, allow_null=True,
                                          queryset=RefusalReason.objects.filter(is_active=True))
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    appointment_on = serializers.DateField(required=False, allow_null=True)
    appointment_purpose = serializers.CharField(required=False, allow_blank=True, default="")
    answers = SatisfactionAnswerInputSerializer(many=True, required=False, default=list)
    problem = serializers.CharField(required=False, allow_blank=True, default="")


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    """The task ledger, scoped to the caller's stores. `outcome` records a call."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["planned_on", "due_on", "id"]
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_task", "outcome": "followups.record_outcome"}

    def get_queryset(self):
        return (for_user(Task.objects.all(), self.request.user)
                .select_related("step", "customer", "vehicle", "outcome", "reason")
                .order_by("planned_on", "due_on", "id"))

    @extend_schema(request=TaskOutcomeSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def outcome(self, request, *args, **kwargs):
        task = self.get_object()
        data = TaskOutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_record_outcome(task=task, actor=request.user,
                                            **data.validated_data)
        task = self.get_queryset().get(pk=task.pk)
        return Response(self.get_serializer(task).data)


class AppointmentSerializer(validation.ModelSerializer):
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
    filterset_class = AppointmentFilter
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_appointment", "create": "followups.add_appointment",
                          "cancel": "followups.change_appointment"}

    def get_queryset(self):
        return for_user(Appointment.objects.all(), self.request.user).order_by("-booked_for", "-id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.appointment_book(
            actor=self.request.user, customer=data["customer"],
            vehicle=data.get("vehicle"), booked_for=data["booked_for"], purpose=data["purpose"],
            notes=data.get("notes", ""))

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        appointment = services.appointment_cancel(appointment=self.get_object(),
                                                  actor=request.user)
        return Response(self.get_serializer(appointment).data)


# The lounge -----------------------------------------------------------------------------------

class LoungeVisitSerializer(validation.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = LoungeVisit
        fields = ["id", "store", "customer", "customer_name", "purpose", "arrived_at",
                  "departed_at", "served_by", "drink", "newspaper", "interests", "notes"]
        read_only_fields = fields


class LoungeArriveSerializer(validation.Serializer):
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.all())
    purpose = serializers.ChoiceField(choices=LoungeVisit.Purpose.choices)
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, allow_null=True,
        help_text="a known customer; otherwise name and mobile (an A-card prospect is opened)")
    name = serializers.CharField(required=False, allow_blank=True, default="")
    mobile = serializers.CharField(required=False, allow_blank=True, default="")
    drink = serializers.CharField(required=False, allow_blank=True, default="")
    newspaper = serializers.CharField(required=False, allow_blank=True, default="")
    interests = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["store"].queryset = stores_of(request.user)
            self.fields["customer"].queryset = for_user(Customer.objects.all(), request.user)


class LoungePreferenceSerializer(validation.ModelSerializer):
    class Meta:
        model = LoungePreference
        fields = ["customer", "drink", "newspaper", "interests", "updated_at"]
        read_only_fields = ["customer", "updated_at"]


class LoungeVisitFilter(validation.FilterSet):
    arrived = filters.DateFromToRangeFilter(field_name="arrived_at__date")
    waiting = filters.BooleanFilter(field_name="departed_at", lookup_expr="isnull")

    class Meta:
        model = LoungeVisit
        fields = ["store", "customer", "purpose", "arrived", "waiting"]


class LoungeVisitViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The lounge's visitor log (来访登记). `depart` records the departure, `preference`
    the customer's drink, newspaper and interests (kept for the next visit)."""

    serializer_class = LoungeVisitSerializer
    filterset_class = LoungeVisitFilter
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_loungevisit", "create": "followups.add_loungevisit",
                          "depart": "followups.change_loungevisit",
                          "preference": "followups.change_loungepreference"}

    def get_queryset(self):
        return for_user(LoungeVisit.objects.select_related("customer"),
                        self.request.user).order_by("-arrived_at", "-id")

    @extend_schema(request=LoungeArriveSerializer, responses=LoungeVisitSerializer)
    def create(self, request, *args, **kwargs):
        data = LoungeArriveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        visit = services.lounge_visit_arrive(actor=request.user, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=visit.pk)).data,
                        status=201)

    @extend_schema(request=None, responses=LoungeVisitSerializer)
    @action(detail=True, methods=["post"])
    def depart(self, request, *args, **kwargs):
        visit = services.lounge_visit_depart(actor=request.user, visit=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=visit.pk)).data)

    @extend_schema(request=LoungePreferenceSerializer, responses=LoungePreferenceSerializer)
    @action(detail=True, methods=["post"])
    def preference(self, request, *args, **kwargs):
        visit = self.get_object()
        data = LoungePreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preference = services.lounge_preference_record(actor=request.user, customer=visit.customer,
                                                       visit=visit, **data.validated_data)
        return Response(LoungePreferenceSerializer(preference).data)


class LoungePreferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers' stored lounge preferences, keyed by customer id."""

    serializer_class = LoungePreferenceSerializer
    filterset_fields = ["customer"]
    lookup_field = "customer"
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_loungepreference"}

    def get_queryset(self):
        return for_user(LoungePreference.objects.all(), self.request.user,
                        "customer__store").order_by("customer_id")


# The owners' club -----------------------------------------------------------------------------

class ClubMemberSerializer(validation.ModelSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    level = serializers.SlugRelatedField(slug_field="code", required=False,
                                         queryset=ClubLevel.objects.filter(is_active=True))
    joined_on = serializers.DateField(required=False)

    class Meta:
        model = ClubMember
        fields = ["id", "store", "customer", "customer_name", "level", "source", "joined_on",
                  "left_on", "left_reason", "notes"]
        read_only_fields = ["id", "store", "left_on", "left_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer"].queryset = for_user(Customer.objects.all(), request.user)


class ClubLeaveSerializer(validation.Serializer):
    reason = serializers.CharField()
    left_on = serializers.DateField(required=False, allow_null=True)


class ClubMemberViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Members of the owners' club (车友会). `leave` ends a membership (the row is kept)."""

    serializer_class = ClubMemberSerializer
    filterset_fields = ["store", "customer", "source", "level__code"]
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_clubmember", "create": "followups.add_clubmember",
                          "leave": "followups.change_clubmember"}

    def get_queryset(self):
        return (for_user(ClubMember.objects.select_related("customer", "level"), self.request.user)
                .order_by("-joined_on", "-id"))

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.club_member_join(
            actor=self.request.user, customer=data["customer"],
            source=data["source"], level=data.get("level"), joined_on=data.get("joined_on"),
            notes=data.get("notes", ""))

    @extend_schema(request=ClubLeaveSerializer, responses=ClubMemberSerializer)
    @action(detail=True, methods=["post"])
    def leave(self, request, *args, **kwargs):
        member = self.get_object()  # another store's member: 404 before the body is looked at
        data = ClubLeaveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.club_member_leave(actor=request.user, member=member,
                                            reason=data.validated_data["reason"],
                                            left_on=data.validated_data.get("left_on"))
        return Response(self.get_serializer(member).data)


class ClubActivitySerializer(validation.ModelSerializer):
    kind = serializers.ChoiceField(choices=[c for c in CareClass.Kind.choices
                                            if c[0] != CareClass.Kind.CARE_CLASS])
    invited = serializers.IntegerField(source="n_invited", read_only=True)
    signed_up = serializers.IntegerField(source="n_signed_up", read_only=True)
    attended = serializers.IntegerField(source="n_attended", read_only=True)
    attendance_rate = serializers.SerializerMethodField(
        help_text="attended / signed up in %, null: not applicable (no sign-ups)")
    feedback_avg = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = CareClass
        fields = ["id", "store", "kind", "title", "starts_at", "location", "capacity",
                  "description", "is_cancelled", "invited", "signed_up", "attended",
                  "attendance_rate", "feedback_avg"]
        read_only_fields = ["id", "is_cancelled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["store"].queryset = stores_of(request.user)

    def get_attendance_rate(self, activity) -> float | None:
        return rules.attendance_rate(activity.n_attended, activity.n_signed_up)


class ClubInvitationSerializer(validation.ModelSerializer):
    class Meta:
        model = ClassInvitation
        fields = ["id", "customer", "reply", "replied_at", "attended", "feedback_rating",
                  "feedback"]
        read_only_fields = fields


class ClubCustomerSerializer(validation.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer"].queryset = for_user(Customer.objects.all(), request.user)


class ClubAttendanceSerializer(ClubCustomerSerializer):
    attended = serializers.BooleanField()


class ClubFeedbackSerializer(ClubCustomerSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(required=False, allow_blank=True, default="")


class ClubActivityViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Club activities (drives, club classes, festival events): events whose invitations
    are the steps of the club activity programme. Commands: `sign-up`, `attendance`,
    `feedback`, each naming the customer."""

    serializer_class = ClubActivitySerializer
    filterset_fields = ["store", "kind", "is_cancelled"]
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_careclass", "create": "followups.add_careclass",
                          "sign_up": "followups.change_classinvitation",
                          "attendance": "followups.change_classinvitation",
                          "feedback": "followups.change_classinvitation"}

    def get_queryset(self):
        return selectors.club_activities(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        activity = services.care_class_create(actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=activity.pk)

    def _invitation(self, activity, customer):
        invitation = activity.invitations.filter(customer=customer).first()
        if invitation is None:
            raise ValidationError({"customer": [_("该客户未报名此活动。")]})
        return invitation

    @extend_schema(request=ClubCustomerSerializer, responses=ClubInvitationSerializer)
    @action(detail=True, methods=["post"], url_path="sign-up")
    def sign_up(self, request, *args, **kwargs):
        activity = self.get_object()  # another store's activity: 404 before the body is read
        data = ClubCustomerSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        invitation = services.club_activity_sign_up(actor=request.user, activity=activity,
                                                    customer=data.validated_data["customer"])
        return Response(ClubInvitationSerializer(invitation).data)

    @extend_schema(request=ClubAttendanceSerializer, responses=ClubInvitationSerializer)
    @action(detail=True, methods=["post"])
    def attendance(self, request, *args, **kwargs):
        activity = self.get_object()
        data = ClubAttendanceSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        invitation = self._invitation(activity, data.validated_data["customer"])
        invitation = services.invitation_attendance(actor=request.user, invitation=invitation,
                                                    attended=data.validated_data["attended"])
        return Response(ClubInvitationSerializer(invitation).data)

    @extend_schema(request=ClubFeedbackSerializer, responses=ClubInvitationSerializer)
    @action(detail=True, methods=["post"])
    def feedback(self, request, *args, **kwargs):
        activity = self.get_object()
        data = ClubFeedbackSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        invitation = self._invitation(activity, data.validated_data["customer"])
        invitation = services.invitation_feedback(actor=request.user, invitation=invitation,
                                                  rating=data.validated_data["rating"],
                                                  text=data.validated_data["text"])
        return Response(ClubInvitationSerializer(invitation).data)


class ClubMonthSerializer(validation.Serializer):
    month = serializers.DateField()
    n = serializers.IntegerField()


class ClubKpiSerializer(validation.Serializer):
    members = serializers.IntegerField()
    new_per_month = ClubMonthSerializer(many=True)
    signed_up = serializers.IntegerField()
    attended = serializers.IntegerField()
    attendance_rate = serializers.FloatField(allow_null=True,
                                             help_text="%, null: not applicable (no sign-ups)")
    return_visit_days = serializers.IntegerField()
    member_owners = serializers.IntegerField()
    member_owners_back = serializers.IntegerField()
    member_return_rate = serializers.FloatField(allow_null=True)
    other_owners = serializers.IntegerField()
    other_owners_back = serializers.IntegerField()
    other_return_rate = serializers.FloatField(allow_null=True)


class ClubKpiViewSet(viewsets.ViewSet):
    """The club's figures for the caller's stores (or one): members, new members per
    month, attendance rate of the last 12 months' activities, return-visit rate of
    member and non-member owners."""

    schema = OneObjectSchema()
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "followups.view_clubmember"}

    @extend_schema(parameters=[OpenApiParameter("store", OpenApiTypes.INT,
                                                description="store id (default: all yours)")],
                   responses=ClubKpiSerializer)
    def list(self, request):
        store_id = request.query_params.get("store")
        if store_id and not store_id.isdigit():
            raise ValidationError({"store": [_("门店编号无效。")]})
        if store_id and not works_for(request.user, int(store_id)):
            raise NotFound
        kpis = selectors.club_kpis(request.user, timezone.localdate(), timezone.now(),
                                   store_id=int(store_id) if store_id else None)
        return Response(ClubKpiSerializer(kpis).data)


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("programmes", ProgrammeViewSet, basename="programme")
    router.register("followup-tasks", TaskViewSet, basename="followup-task")
    router.register("appointments", AppointmentViewSet, basename="appointment")
    router.register("lounge-visits", LoungeVisitViewSet, basename="lounge-visit")
    router.register("lounge-preferences", LoungePreferenceViewSet, basename="lounge-preference")
    router.register("club-members", ClubMemberViewSet, basename="club-member")
    router.register("club-activities", ClubActivityViewSet, basename="club-activity")
    router.register("club-kpis", ClubKpiViewSet, basename="club-kpi")

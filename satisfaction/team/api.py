"""API of the team records: training plans and sessions, one-to-one talks, the smile
service star vote, incentive rules, staff greetings and the monthly scorecards.
Registered by satisfaction/api.py; writes call the services. Each viewset names the
permission of each action (docs/access-matrix.csv), as the team pages check them."""

from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm_site import validation
from crm_site.permissions import ActionPermissions
from crm_site.scoping import for_user
from crm_site.settings_pages import settings_viewset

from .. import rules as srules
from .. import selectors as sselectors
from ..models import (
    IncentiveRule,
    OneToOneTalk,
    SmileVote,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)
from . import selectors, services
from .views import GREETINGS


class StoreField(serializers.PrimaryKeyRelatedField):
    """A store of the caller's."""

    def get_queryset(self):
        return sselectors.stores_for(self.context["request"].user)


# Training ------------------------------------------------------------------------------------

class TrainingPlanSerializer(validation.ModelSerializer):
    class Meta:
        model = TrainingPlan
        fields = ["id", "store", "code", "name", "frequency", "with_assessment", "is_active"]
        read_only_fields = ["store", "code", "with_assessment"]


class TrainingPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                          viewsets.GenericViewSet):
    """Training plans (weekly brand-standard study, monthly etiquette and process
    training). A manager changes the frequency."""

    serializer_class = TrainingPlanSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_trainingplan",
                          "update": "satisfaction.change_trainingplan",
                          "partial_update": "satisfaction.change_trainingplan"}

    def get_queryset(self):
        stores = sselectors.stores_for(self.request.user)
        return TrainingPlan.objects.filter(Q(store__isnull=True) | Q(store__in=stores)).order_by("id")

    def perform_update(self, serializer):
        data = serializer.validated_data
        plan = serializer.instance
        serializer.instance = services.training_plan_update(
            actor=self.request.user, plan=plan, frequency=data.get("frequency", plan.frequency),
            name=data.get("name"), is_active=data.get("is_active"))


class AttendanceSerializer(validation.ModelSerializer):
    class Meta:
        model = TrainingAttendance
        fields = ["staff", "attended", "score", "remark"]
        extra_kwargs = {"score": {"min_value": 0, "max_value": 100}}


class TrainingSessionSerializer(validation.ModelSerializer):
    store = StoreField()
    attendance = AttendanceSerializer(many=True)

    class Meta:
        model = TrainingSession
        fields = ["id", "store", "plan", "held_on", "topic", "trainer", "minutes", "notes",
                  "attendance", "created_at"]
        read_only_fields = ["trainer", "created_at"]


class TrainingSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                             viewsets.GenericViewSet):
    """Training sessions with attendance and assessment scores (a person who does not
    manage the team sees only their own rows of each session)."""

    serializer_class = TrainingSessionSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_trainingsession",
                          "create": "satisfaction.add_trainingsession"}
    filterset_fields = ["store", "plan", "held_on"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TrainingSession.objects.none()
        rows = selectors.attendance_for(self.request.user).order_by("staff_id")
        return selectors.sessions_for(self.request.user).prefetch_related(
            Prefetch("attendance", queryset=rows)).order_by("-held_on", "-id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        attendance = [(row["staff"], row.get("attended", True), row.get("score"), row.get("remark", ""))
                      for row in data.pop("attendance")]
        session = services.training_session_record(actor=self.request.user,
                                                   attendance=attendance, **data)
        serializer.instance = self.get_queryset().get(pk=session.pk)


# Talks ----------------------------------------------------------------------------------------

class TalkSerializer(validation.ModelSerializer):
    store = StoreField()

    class Meta:
        model = OneToOneTalk
        fields = ["id", "store", "staff", "held_by", "held_on", "minutes", "notes", "created_at"]
        read_only_fields = ["held_by", "created_at"]


class OneToOneTalkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """Monthly one-to-one talks (a member of staff sees their own)."""

    serializer_class = TalkSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_onetoonetalk",
                          "create": "satisfaction.add_onetoonetalk"}
    filterset_fields = ["store", "staff", "held_on"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OneToOneTalk.objects.none()
        return selectors.talks_for(self.request.user).order_by("-held_on", "-id")

    def perform_create(self, serializer):
        serializer.instance = services.one_to_one_talk_record(actor=self.request.user,
                                                              **serializer.validated_data)


# The vote -------------------------------------------------------------------------------------

class SmileVoteSerializer(validation.ModelSerializer):
    store = StoreField()

    class Meta:
        model = SmileVote
        fields = ["id", "store", "period", "voter", "nominee", "reason", "created_at"]
        read_only_fields = ["period", "voter", "created_at"]


class VoteResultSerializer(validation.Serializer):
    period = serializers.DateField()
    winners = serializers.SerializerMethodField()
    tie = serializers.BooleanField()
    counts = serializers.SerializerMethodField()

    def get_winners(self, result) -> list[int]:
        return [user.pk for user in result.winners]

    def get_counts(self, result) -> dict[str, int]:
        return {str(user.pk): votes for user, votes in result.counts}


class SmileVoteViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The monthly smile service star vote: POST casts the caller's vote of this month
    (once, not for oneself); a list shows the caller's own votes; `results` the counts
    and winner(s) of ended months."""

    serializer_class = SmileVoteSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_smilevote", "create": "satisfaction.add_smilevote"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SmileVote.objects.none()
        return for_user(SmileVote.objects.filter(voter=self.request.user), self.request.user).order_by(
            "-period", "-id")

    def perform_create(self, serializer):
        serializer.instance = services.smile_vote_cast(actor=self.request.user,
                                                       **serializer.validated_data)

    @extend_schema(parameters=[OpenApiParameter("store", OpenApiTypes.INT, required=True),
                               OpenApiParameter("months", OpenApiTypes.INT, description="1-24")],
                   responses=VoteResultSerializer(many=True))
    @action(detail=False, methods=["get"])
    def results(self, request):
        store = _store(request)
        current = srules.period_of(timezone.now(), store.time_zone)
        months = _int(request, "months", 6, 1, 24)
        periods = srules.months_back(srules.add_months(current, -1), months)[::-1]
        return Response(VoteResultSerializer(selectors.vote_results(store, periods), many=True).data)


def _int(request, name, default, low, high):
    try:
        return min(max(int(request.query_params.get(name, default)), low), high)
    except ValueError:
        raise ValidationError({name: "not a number"}) from None


def _store(request):
    try:
        pk = int(request.query_params.get("store", ""))
    except ValueError:
        raise ValidationError({"store": "store id required"}) from None
    return get_object_or_404(sselectors.stores_for(request.user), pk=pk)


# Incentive rules and greetings ----------------------------------------------------------------

class IncentiveRuleSerializer(validation.ModelSerializer):
    # Null on the defaults of every store (as listed); a POST names one of the caller's stores.
    store = StoreField(allow_null=True)

    class Meta:
        model = IncentiveRule
        fields = ["id", "store", "kind", "threshold", "amount", "is_active", "note"]
        validators = []

    def validate_store(self, store):
        if store is None:
            raise ValidationError(_("请至少选择一个门店。"))
        return store


class IncentiveRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           viewsets.GenericViewSet):
    """Incentive rules: the defaults (no store) and each store's own. POST sets the
    store's rule of that kind (creating or changing it)."""

    serializer_class = IncentiveRuleSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    # POST sets the store's rule of a kind (a change of the rule in force), as on the page.
    action_permissions = {"*": "satisfaction.view_incentiverule",
                          "create": "satisfaction.change_incentiverule"}

    def get_queryset(self):
        stores = sselectors.stores_for(self.request.user)
        return IncentiveRule.objects.filter(Q(store__isnull=True) | Q(store__in=stores)).order_by(
            "kind", "store_id", "id")

    def perform_create(self, serializer):
        serializer.instance = services.incentive_rule_set(actor=self.request.user,
                                                          **serializer.validated_data)


StaffGreetingViewSet = settings_viewset(
    GREETINGS, view_permission="satisfaction.view_staffgreeting",
    add_permission="satisfaction.add_staffgreeting",
    change_permission="satisfaction.change_staffgreeting")


# Scorecards -----------------------------------------------------------------------------------

class ScorecardKpiSerializer(validation.Serializer):
    measure = serializers.CharField()
    value = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    target = serializers.SerializerMethodField()
    status = serializers.CharField(allow_null=True)

    def get_target(self, kpi) -> float | None:
        return float(kpi.target.value) if kpi.target else None


class ScorecardIncentiveSerializer(validation.Serializer):
    kind = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)


class ScorecardSerializer(validation.Serializer):
    store = serializers.IntegerField(source="store.pk")
    staff = serializers.IntegerField(source="staff.pk")
    staff_name = serializers.CharField(source="staff")
    period = serializers.DateField()
    kpis = ScorecardKpiSerializer(many=True)
    incentives = ScorecardIncentiveSerializer(many=True)
    rewards = serializers.DecimalField(max_digits=12, decimal_places=2)
    penalties = serializers.DecimalField(max_digits=12, decimal_places=2)


class ScorecardViewSet(viewsets.ViewSet):
    """Monthly scorecards of a store: every team member for a manager, one's own
    otherwise."""

    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "satisfaction.view_team"}

    @extend_schema(parameters=[OpenApiParameter("store", OpenApiTypes.INT, required=True),
                               OpenApiParameter("period", OpenApiTypes.STR, description="YYYY-MM")],
                   responses=ScorecardSerializer(many=True))
    def list(self, request):
        store = _store(request)
        try:
            period = srules.parse_period(request.query_params.get("period") or timezone.localdate())
        except ValueError:
            raise ValidationError({"period": "YYYY-MM"}) from None
        staff_ids = None if selectors.can_manage(request.user) else [request.user.pk]
        cards = selectors.scorecards(store, period, now=timezone.now(), staff_ids=staff_ids)
        return Response(ScorecardSerializer(cards, many=True).data)


def register(router):
    router.register("team/scorecards", ScorecardViewSet, basename="team-scorecard")
    router.register("team/training-plans", TrainingPlanViewSet, basename="training-plan")
    router.register("team/training-sessions", TrainingSessionViewSet, basename="training-session")
    router.register("team/talks", OneToOneTalkViewSet, basename="one-to-one-talk")
    router.register("team/smile-votes", SmileVoteViewSet, basename="smile-vote")
    router.register("team/incentive-rules", IncentiveRuleViewSet, basename="incentive-rule")
    router.register("team/staff-greetings", StaffGreetingViewSet, basename="staff-greeting")

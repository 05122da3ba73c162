"""API of the site-wide floor: stores, the current user, notifications, the outbox, and
how every app's service errors become API answers."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import errors, services, validation
from .filters import MessageFilter
from .models import CalendarOverride, CalendarYear, Message, Notification, Store, User
from .permissions import ActionPermissions
from .scoping import for_user
from .templatetags.crm import mask_mobile


def exception_handler(exc, context):
    """Every API error answers in crm_site.errors' shape: {"code", "message", "fields"}.
    A service's ValidationError is a 400 naming its fields (non_field_errors when it
    names none), like a serializer's; Django's PermissionDenied keeps its reason, Http404
    says "not found" in the request's language. Everything else as DRF answers it,
    reshaped."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field:
                      messages for field, messages in exc.message_dict.items()}
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(errors.not_found_message())
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = errors.invalid_body(errors.field_errors(exc.get_full_details()))
    else:
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = errors.body(code, exc.detail if isinstance(exc.detail, str)
                                    else exc.default_detail)
    return response


class StoreSerializer(validation.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "code", "name", "brand", "address", "phone", "time_zone",
                  "sms_window_start", "sms_window_end"]


class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "crm_site.view_store"}
    filterset_fields = ["code"]

    def get_queryset(self):
        return for_user(Store.objects.all(), self.request.user, "pk").order_by("code")


class MeSerializer(validation.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name")
    roles = serializers.SerializerMethodField()
    stores = StoreSerializer(many=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "roles", "stores"]

    def get_roles(self, user) -> list[str]:
        return sorted(user.role_codes)


class MeView(APIView):
    """Who the caller of the API is: roles and stores."""

    @extend_schema(responses=MeSerializer)
    def get(self, request, *args, **kwargs):
        user = User.objects.prefetch_related("groups", "stores").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class NotificationSerializer(validation.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """The caller's own notifications; `read` marks one read."""

    serializer_class = NotificationSerializer
    filterset_fields = {"read_at": ["isnull"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(user=self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, *args, **kwargs):
        notification = self.get_object()
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.read_at = notification.read_at or timezone.now()
        return Response(self.get_serializer(notification).data)


class MessageSerializer(validation.ModelSerializer):
    """`recipient` masked exactly as on the outbox page (/messages/): in full only for a
    role that may reveal personal data."""

    class Meta:
        model = Message
        fields = ["id", "store", "recipient", "sign_name", "template_code", "params", "text",
                  "purpose", "status", "not_before", "expires_at", "attempts",
                  "last_error", "provider", "provider_id", "created_at", "sent_at",
                  "delivery", "delivered_at", "delivery_error"]
        read_only_fields = fields

    def to_representation(self, message):
        data = super().to_representation(message)
        request = self.context.get("request")
        if not (request and request.user.has_perm("crm_site.reveal_personal_data")):
            data["recipient"] = mask_mobile(message.recipient)
        return data


class MessageViewSet(viewsets.ReadOnlyModelViewSet):
    """The SMS outbox, read-only."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "crm_site.view_message"}

    def get_queryset(self):
        return for_user(Message.objects.all(), self.request.user).order_by("-id")


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    is_working = serializers.BooleanField(help_text="true: a make-up workday; false: a holiday")
    name = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")


class CalendarYearSerializer(validation.ModelSerializer):
    """A year of the national calendar with its holidays and make-up workdays; `note`
    (the notice it follows) is the change note of the history rows."""

    days = serializers.SerializerMethodField()

    class Meta:
        model = CalendarYear
        fields = ["year", "note", "entered_at", "days"]
        read_only_fields = fields

    @extend_schema_field(CalendarDaySerializer(many=True))
    def get_days(self, entry):
        days = self.context["days"].get(entry.year, [])
        return CalendarDaySerializer(days, many=True).data


class CalendarYearWriteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200)
    days = CalendarDaySerializer(many=True)


class CalendarYearViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """The national calendar's entered years (group admin). PUT /calendar-years/{year}/
    enters or replaces a year, as the page does."""

    serializer_class = CalendarYearSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "crm_site.manage_calendar_year"}
    lookup_field = "year"
    lookup_value_regex = "[0-9]+"
    queryset = CalendarYear.objects.order_by("-year")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        days = {}
        if not getattr(self, "swagger_fake_view", False):
            for row in CalendarOverride.objects.filter(store__isnull=True).order_by("date"):
                days.setdefault(row.date.year, []).append(
                    {"date": row.date, "is_working": row.is_working, "name": row.name})
        context["days"] = days
        return context

    @extend_schema(request=CalendarYearWriteSerializer, responses=CalendarYearSerializer)
    def update(self, request, *args, **kwargs):
        year = int(kwargs["year"])
        data = CalendarYearWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.calendar_year_enter(
            actor=request.user, year=year, note=data.validated_data["note"],
            days=[(d["date"], d["is_working"], d.get("name", "")) for d in data.validated_data["days"]])
        return Response(self.get_serializer(entry).data)


def bad_request(request, exception=None):
    """A 400 Django raises before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE)
    answers in the API's own format under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse(errors.body("parse_error", exceptions.ParseError.default_detail),
                            status=400)
    return django_bad_request(request, exception)


def not_found(request, exception=None):
    """A 404 under /api/ (a path no route matches, e.g. an id with a dot) answers in the
    API's own format; pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(errors.body("not_found", errors.not_found_message()), status=404)
    return page_not_found(request, exception)

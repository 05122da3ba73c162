"""API of the customers app: /api/v1/customers/, vehicles/, sales/, service-visits/,
insurance-policies/, customer-merges/, correction-requests/. Same services, validation
and store scoping as the pages; writes go through the services, so a DMS pushing a
delivery or a visit moves the due dates."""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from crm_site import validation
from crm_site.models import Store, User
from crm_site.permissions import ActionPermissions
from crm_site.proxies import client_ip
from crm_site.scoping import for_user, stores_of
from crm_site.templatetags.crm import mask_mobile

from . import selectors, services
from .filters import CorrectionFilter, CustomerFilter
from .models import (
    CorrectionRequest,
    Customer,
    CustomerMerge,
    InsurancePolicy,
    PersonalDataReveal,
    Sale,
    ServiceVisit,
    Vehicle,
)
from .templatetags.customers_tags import mask_id, masked_correction


class ModelPermissions(permissions.DjangoModelPermissions):
    """view_ for reads, add_ for create, change_ for updates and commands."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A related row limited to the requesting user's stores."""

    def __init__(self, *args, store_field="store", model=None, **kwargs):
        self.store_field, self.model = store_field, model
        super().__init__(*args, **kwargs)

    def get_queryset(self):
        request = self.context["request"]
        if self.model is Store:
            return stores_of(request.user)
        return for_user(self.model.objects.all(), request.user, self.store_field)


class StaffField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        stores = stores_of(self.context["request"].user)
        return User.objects.filter(is_active=True, stores__in=stores).distinct()


def _revealed(serializer):
    """Whether this response shows identifiers in full: only when the caller asked for it
    (`?reveal=1`, which needs the reveal permission and is logged; see RevealMixin)."""
    return bool(serializer.context.get("reveal"))


REVEAL_VALUES = ("1", "true", "yes")
REVEAL_PARAMETER = OpenApiParameter(
    "reveal", OpenApiTypes.BOOL,
    description="Show mobiles and ID numbers in full. Needs the right to reveal personal "
                "data (403 otherwise); logged like a reveal (one record) or an export "
                "(a list page).")


class RevealMixin:
    """Identifiers come back masked for every role. `?reveal=1` on a list or a record
    shows them in full to a role that may reveal personal data (403 to any other) and
    logs it: a page of a list as an export of personal data, one record as a reveal of
    each identifier it shows, both listed at /customers/reveals/."""

    reveal = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.reveal = False
        asked = request.query_params.get("reveal", "").lower()
        if asked not in (*REVEAL_VALUES, "0", "false", "no", ""):
            raise validation.refuse("reveal", _("应为 1 或 0。"))
        if self.action in ("list", "retrieve") and \
                request.query_params.get("reveal", "").lower() in REVEAL_VALUES:
            if not request.user.has_perm("crm_site.reveal_personal_data"):
                self.permission_denied(request, message=_("您没有查看完整个人信息的权限。"))
            self.reveal = True

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "reveal": self.reveal}

    def list(self, request, *args, **kwargs):
        if not self.reveal:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(queryset) if page is None else page
        data = self.get_serializer(rows, many=True).data
        services.personal_data_export_log(
            user=request.user, customer_ids=self.revealed_customer_ids(rows), unmasked=True,
            filters=request.get_full_path(), ip_address=client_ip(request))
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        if not self.reveal:
            return super().retrieve(request, *args, **kwargs)
        row = self.get_object()
        data = self.get_serializer(row).data
        for customer, field in self.revealed_fields(row):
            services.personal_data_reveal(user=request.user, customer=customer, field=field,
                                          ip_address=client_ip(request))
        return Response(data)

    def revealed_customer_ids(self, rows):
        raise NotImplementedError

    def revealed_fields(self, row):
        """(customer, PersonalDataReveal field) of each identifier the row shows."""
        raise NotImplementedError


# Customers --------------------------------------------------------------------------------------

class FamilyMemberSerializer(validation.Serializer):
    relation = serializers.ChoiceField(choices=services.FamilyMember.Relation.choices)
    name = serializers.CharField(max_length=50)
    birthday = serializers.DateField(required=False, allow_null=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)


class CustomerSerializer(validation.ModelSerializer):
    """mobile and id_number come back masked unless the caller may reveal personal data."""

    store = ScopedRelatedField(model=Store, store_field="pk")
    owner = StaffField(required=False, allow_null=True)
    mobile = serializers.CharField(max_length=30, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    credit_code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    family = FamilyMemberSerializer(many=True, required=False, write_only=True,
                                    help_text="Family members to add on create.")
    family_members = FamilyMemberSerializer(source="family", many=True, read_only=True)
    allow_duplicate = serializers.BooleanField(write_only=True, required=False, default=False)
    vehicles = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["id", "store", *services.CUSTOMER_FIELDS, "family", "family_members",
                  "is_active", "merged_into", "consent_updated_at", "created_at", "updated_at", "vehicles",
                  "allow_duplicate"]
        read_only_fields = ["is_active", "merged_into", "consent_updated_at", "created_at",
                            "updated_at"]
        validators = []

    def get_vehicles(self, customer) -> list[dict]:
        vehicles = getattr(customer, "active_vehicles", None)
        if vehicles is None:
            vehicles = [v for v in customer.vehicles.all() if v.is_active]
        return [{"id": v.pk, "vin": v.vin, "plate": v.plate, "model_name": v.model_name}
                for v in vehicles]

    def to_representation(self, customer):
        data = super().to_representation(customer)
        if not _revealed(self):
            data["mobile"] = mask_mobile(customer.mobile) if customer.mobile else ""
            data["id_number"] = mask_id(customer.id_number) if customer.id_number else ""
            data["credit_code"] = mask_id(customer.credit_code) if customer.credit_code else ""
            for member in data.get("family_members") or []:  # masked as on the page
                member["phone"] = mask_mobile(member["phone"]) if member.get("phone") else ""
        return data

    def create(self, validated_data):
        request = self.context["request"]
        family = validated_data.pop("family", [])
        allow = validated_data.pop("allow_duplicate", False)
        store = validated_data.pop("store")
        return services.customer_create(store=store, actor=request.user,
                                        allow_duplicate=allow, family=family, **validated_data)

    def update(self, customer, validated_data):
        validated_data.pop("family", None)
        validated_data.pop("store", None)
        allow = validated_data.pop("allow_duplicate", False)
        if not customer.is_active:
            raise exceptions.ValidationError({"non_field_errors": [_("该客户已停用或已合并。")]})
        return services.customer_update(customer=customer, actor=self.context["request"].user,
                                        allow_duplicate=allow, **validated_data)


class RevealSerializer(validation.Serializer):
    field = serializers.ChoiceField(choices=PersonalDataReveal.Field.choices)


class RevealResultSerializer(validation.Serializer):
    field = serializers.CharField()
    value = serializers.CharField(allow_blank=True)


class MergeSerializer(validation.Serializer):
    merged = serializers.IntegerField(help_text="The duplicate's id: merged into this customer.")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MergeResultSerializer(validation.ModelSerializer):
    class Meta:
        model = CustomerMerge
        fields = ["id", "kept", "merged", "moved", "filled_fields", "reason", "merged_at",
                  "undone_at"]
        read_only_fields = fields


class CappedPagination(PageNumberPagination):
    """`count` stops at 10,000 on very large lists (see selectors.CappedPaginator)."""

    django_paginator_class = selectors.CappedPaginator


@extend_schema_view(retrieve=extend_schema(parameters=[REVEAL_PARAMETER]), list=extend_schema(parameters=[
    REVEAL_PARAMETER,
    OpenApiParameter("q", OpenApiTypes.STR, description="Name, any part of the mobile, plate or VIN."),
    OpenApiParameter("due", OpenApiTypes.STR, enum=list(selectors.DUE_PROGRAMMES),
                     description="A due date of this programme within `within` days."),
    OpenApiParameter("within", OpenApiTypes.INT, description="Days ahead for `due` (default 30)."),
    OpenApiParameter("lapsed", OpenApiTypes.BOOL, description="No visit for 6 months or more."),
    OpenApiParameter("inactive", OpenApiTypes.BOOL, description="Include merged/inactive customers."),
    OpenApiParameter("store", OpenApiTypes.INT), OpenApiParameter("owner", OpenApiTypes.INT),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.SORTS)),
]))
class CustomerViewSet(RevealMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Customers of the caller's stores. Deleting is refused (records are kept).
    Mobiles and ID numbers come back masked; `reveal` shows one in full, `?reveal=1` a
    record or a page of the list (the right to reveal personal data; logged)."""

    serializer_class = CustomerSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions, ActionPermissions]
    action_permissions = {"merge": "customers.merge_customer",
                          "reveal": "crm_site.reveal_personal_data"}
    queryset = Customer.objects.none()
    filterset_class = CustomerFilter
    filter_backends = [validation.FilterBackend]
    pagination_class = CappedPagination

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return selectors.customers_for(user).prefetch_related("family")
        return selectors.customers_for(user).select_related("store", "owner").prefetch_related(
            "family",
            Prefetch("vehicles", queryset=Vehicle.objects.filter(is_active=True).order_by("id"),
                     to_attr="active_vehicles"))

    def get_permissions(self):
        if self.action == "reveal":  # a read: no add_customer, as ModelPermissions asks of POST
            return [permissions.IsAuthenticated(), ActionPermissions()]
        return super().get_permissions()

    def revealed_customer_ids(self, rows):
        return [customer.pk for customer in rows]

    def revealed_fields(self, customer):
        return [(customer, field) for field in PersonalDataReveal.Field.values
                if getattr(customer, field)]

    @extend_schema(request=RevealSerializer, responses=RevealResultSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, *args, **kwargs):
        """One identifier of the customer in full (`field`: mobile, id_number or
        credit_code), as the reveal button on the customer page; logged."""
        customer = self.get_object()
        payload = RevealSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        field = payload.validated_data["field"]
        value = services.personal_data_reveal(user=request.user, customer=customer,
                                              field=field,
                                              ip_address=client_ip(request))
        return Response({"field": field, "value": value or ""})

    @extend_schema(request=MergeSerializer, responses=MergeResultSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, *args, **kwargs):
        """Merge the duplicate `merged` into this customer (undo: merges/<id>/undo)."""
        kept = self.get_object()
        payload = MergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        merged = selectors.customers_for(request.user).filter(pk=payload.validated_data["merged"]).first()
        if merged is None:
            raise exceptions.ValidationError({"merged": [_("找不到该客户。")]})
        merge = services.customer_merge(kept=kept, merged=merged, actor=request.user,
                                        reason=payload.validated_data.get("reason", ""))
        return Response(MergeResultSerializer(merge).data, status=201)


def _int(value):
    """A query parameter as an integer, or None when it is not one a column could hold."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -2**63 < number < 2**63 else None


# Vehicles ------------------------------------------------------------------------------------------

class VehicleSerializer(validation.ModelSerializer):
    customer = ScopedRelatedField(model=Customer)
    vin = serializers.CharField(max_length=30)
    plate = serializers.CharField(max_length=20, required=False, allow_blank=True)
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Vehicle
        fields = ["id", "store", "customer", *services.VEHICLE_FIELDS, "delivered_on",
                  "first_service_due_on", "first_service_done_on", "next_service_due_on",
                  "insurance_expires_on", "last_visit_on", "is_active", "created_at",
                  "updated_at", "warnings"]
        read_only_fields = ["store", "delivered_on", "first_service_due_on",
                            "first_service_done_on", "next_service_due_on",
                            "insurance_expires_on", "last_visit_on", "is_active", "created_at",
                            "updated_at"]
        validators = []

    def get_warnings(self, vehicle) -> list[str]:
        return [str(w) for w in getattr(vehicle, "warnings", [])]

    def create(self, validated_data):
        customer = validated_data.pop("customer")
        return services.vehicle_register(store=customer.store, customer=customer,
                                         actor=self.context["request"].user, **validated_data)

    def update(self, vehicle, validated_data):
        new_owner = validated_data.pop("customer", None)
        vehicle = services.vehicle_update(vehicle=vehicle,
                                          actor=self.context["request"].user, **validated_data)
        if new_owner is not None and new_owner.pk != vehicle.customer_id:
            vehicle = services.vehicle_transfer(vehicle=vehicle, customer=new_owner,
                                                actor=self.context["request"].user)
        return vehicle


class VehicleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Vehicles of the caller's stores, with their due dates (read-only, kept by the
    services). Changing `customer` is an ownership transfer, kept in history."""

    serializer_class = VehicleSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    queryset = Vehicle.objects.none()
    filterset_fields = {
        "store": ["exact"], "customer": ["exact"], "vin": ["exact"], "plate": ["exact"],
        "is_active": ["exact"], "first_service_due_on": ["gte", "lte"],
        "next_service_due_on": ["gte", "lte"], "insurance_expires_on": ["gte", "lte"],
        "last_visit_on": ["gte", "lte", "isnull"],
    }
    ordering_fields = ["id", "next_service_due_on", "insurance_expires_on", "first_service_due_on"]
    search_fields = []

    def get_queryset(self):
        return selectors.vehicles_for(self.request.user).order_by("-id")


# Sales, visits, policies ---------------------------------------------------------------------

class VehicleRefMixin(validation.Serializer):
    """A record names its vehicle by id or, for a DMS, by VIN."""

    vin = serializers.CharField(write_only=True, required=False, max_length=30)

    def validate(self, attrs):
        vehicle, vin = attrs.get("vehicle"), attrs.pop("vin", None)
        if vehicle is None and vin:
            vehicle = selectors.vehicles_for(self.context["request"].user).filter(
                vin=vin.strip().upper()).first()
            if vehicle is None:
                raise exceptions.ValidationError({"vin": [_("找不到该车架号的车辆。")]})
            attrs["vehicle"] = vehicle
        if attrs.get("vehicle") is None and self.instance is None:
            raise exceptions.ValidationError({"vehicle": [_("请指定车辆（vehicle 或 vin）。")]})
        return attrs


class SaleSerializer(VehicleRefMixin, serializers.ModelSerializer):
    vehicle = ScopedRelatedField(model=Vehicle, required=False)
    customer = ScopedRelatedField(model=Customer, required=False)
    consultant = StaffField(required=False, allow_null=True)

    class Meta:
        model = Sale
        fields = ["id", "vehicle", "vin", "customer", "store", "consultant", "consultant_name",
                  "price", "discount", "order_date", "delivered_on", "insurance_bought",
                  "finance_used", "dms_ref", "created_at"]
        read_only_fields = ["store", "created_at"]
        validators = []

    def create(self, validated_data):
        return services.sale_record(actor=self.context["request"].user, **validated_data)


class DeliverSerializer(validation.Serializer):
    delivered_on = serializers.DateField()


class SaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    """Sales. Creating one with `delivered_on` (or calling `deliver`) sets the vehicle's
    first-service due date by the brand rule."""

    serializer_class = SaleSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    queryset = Sale.objects.none()
    filterset_fields = {"store": ["exact"], "vehicle": ["exact"], "customer": ["exact"],
                        "dms_ref": ["exact"], "order_date": ["gte", "lte"],
                        "delivered_on": ["gte", "lte", "isnull"]}
    ordering_fields = ["id", "order_date", "delivered_on"]
    search_fields = []

    def get_queryset(self):
        return for_user(Sale.objects.all(), self.request.user).order_by("-id")

    @extend_schema(request=DeliverSerializer, responses=SaleSerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request, *args, **kwargs):
        sale = self.get_object()
        payload = DeliverSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sale = services.sale_deliver(sale=sale, actor=request.user,
                                     delivered_on=payload.validated_data["delivered_on"])
        return Response(self.get_serializer(sale).data)


class ServiceVisitSerializer(VehicleRefMixin, serializers.ModelSerializer):
    vehicle = ScopedRelatedField(model=Vehicle, required=False)
    customer = ScopedRelatedField(model=Customer, required=False)
    advisor = StaffField(required=False, allow_null=True)

    class Meta:
        model = ServiceVisit
        fields = ["id", "vehicle", "vin", "customer", "store", "advisor", "advisor_name",
                  "repair_type", "amount", "date_in", "date_out", "mileage", "next_service_on",
                  "dms_ref", "created_at"]
        read_only_fields = ["store", "created_at"]
        validators = []

    def create(self, validated_data):
        return services.service_visit_record(actor=self.context["request"].user,
                                             **validated_data)


class ServiceVisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Workshop visits. Creating one moves the vehicle's last visit and next service."""

    serializer_class = ServiceVisitSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    queryset = ServiceVisit.objects.none()
    filterset_fields = {"store": ["exact"], "vehicle": ["exact"], "customer": ["exact"],
                        "repair_type": ["exact"], "dms_ref": ["exact"], "date_in": ["gte", "lte"]}
    ordering_fields = ["id", "date_in"]
    search_fields = []

    def get_queryset(self):
        return for_user(ServiceVisit.objects.all(), self.request.user).order_by("-id")


class InsurancePolicySerializer(VehicleRefMixin, serializers.ModelSerializer):
    vehicle = ScopedRelatedField(model=Vehicle, required=False)
    customer = ScopedRelatedField(model=Customer, required=False)

    class Meta:
        model = InsurancePolicy
        fields = ["id", "vehicle", "vin", "customer", "store", "insurer", "policy_no", "premium",
                  "starts_on", "expires_on", "bought_here", "created_at"]
        read_only_fields = ["store", "created_at"]
        validators = []

    def create(self, validated_data):
        return services.insurance_policy_record(actor=self.context["request"].user,
                                                **validated_data)


class RenewalSerializer(validation.Serializer):
    insurer = serializers.CharField(max_length=100)
    bought_here = serializers.BooleanField(help_text="renewed with this store (else elsewhere)")
    starts_on = serializers.DateField(required=False,
                                      help_text="default: the day after the policy's expiry")
    expires_on = serializers.DateField(required=False, help_text="default: a year after the start")
    policy_no = serializers.CharField(max_length=50, required=False, allow_blank=True)
    premium = serializers.DecimalField(max_digits=12, decimal_places=2, required=False,
                                       allow_null=True)


class InsurancePolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Insurance policies. Creating one moves the vehicle's insurance expiry; `renew`
    records how a policy due was renewed, with this store or elsewhere (the renewal rate
    counts a renewal here)."""

    serializer_class = InsurancePolicySerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    queryset = InsurancePolicy.objects.none()
    filterset_fields = {"store": ["exact"], "vehicle": ["exact"], "customer": ["exact"],
                        "expires_on": ["gte", "lte"], "bought_here": ["exact"]}
    ordering_fields = ["id", "expires_on"]
    search_fields = []

    def get_queryset(self):
        return for_user(InsurancePolicy.objects.all(), self.request.user).order_by("-id")

    @extend_schema(request=RenewalSerializer, responses={201: InsurancePolicySerializer})
    @action(detail=True, methods=["post"])
    def renew(self, request, *args, **kwargs):
        policy = self.get_object()
        payload = RenewalSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        renewal = services.insurance_renewal_record(policy=policy, actor=request.user,
                                                    **payload.validated_data)
        return Response(self.get_serializer(renewal).data, status=status.HTTP_201_CREATED)


class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customer merges of the caller's stores; `undo` puts a merge back."""

    serializer_class = MergeResultSerializer
    queryset = CustomerMerge.objects.none()
    search_fields = []
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "customers.merge_customer"}

    def get_queryset(self):
        return selectors.merges_for(self.request.user).order_by("-id")

    @extend_schema(request=None, responses=MergeResultSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request, *args, **kwargs):
        merge = services.customer_merge_undo(merge=self.get_object(), actor=request.user)
        return Response(self.get_serializer(merge).data)


# Correction requests ---------------------------------------------------------------------------

class CorrectionRequestSerializer(validation.ModelSerializer):
    """A correction request; filing it notifies the store's sales or service manager.
    Values of identifier fields (mobile, ID number) come back masked unless revealed
    (`?reveal=1`, see RevealMixin)."""

    customer = ScopedRelatedField(model=Customer)
    vehicle = ScopedRelatedField(model=Vehicle, required=False, allow_null=True)
    wrong_value = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                        allow_null=True, default=None,
                                        help_text="Empty: the record's current value.")
    correct_value = serializers.CharField(max_length=200)
    call_date = serializers.DateField(required=False, allow_null=True)

    class Meta:
        model = CorrectionRequest
        fields = ["id", "store", "customer", "vehicle", "plate", "call_date", "department", "field",
                  "wrong_value", "correct_value", "note", "status", "filed_by", "filed_at",
                  "decided_by", "decided_at", "decision_note", "confirmed_by", "confirmed_at"]
        read_only_fields = ["store", "plate", "status", "filed_by", "filed_at", "decided_by",
                            "decided_at", "decision_note", "confirmed_by", "confirmed_at"]
        validators = []

    def to_representation(self, correction):
        data = super().to_representation(correction)
        if not _revealed(self):
            data["wrong_value"] = masked_correction(correction.wrong_value, correction.field)
            data["correct_value"] = masked_correction(correction.correct_value, correction.field)
        return data

    def create(self, validated_data):
        return services.correction_request_file(filed_by=self.context["request"].user,
                                                **validated_data)


class DecisionSerializer(validation.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")
    value = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                  help_text="apply only: the value to write, if not correct_value.")


class DecisionPermissions(permissions.BasePermission):
    """Applying or rejecting needs the right to decide (as on the page; the service also
    checks the store); the confirming call back needs read access."""

    def has_permission(self, request, view):
        if view.action in ("apply", "reject"):
            return request.user.has_perm("customers.decide_correctionrequest")
        return request.user.has_perm("customers.view_correctionrequest")


@extend_schema_view(retrieve=extend_schema(parameters=[REVEAL_PARAMETER]), list=extend_schema(parameters=[
    REVEAL_PARAMETER]))
class CorrectionRequestViewSet(RevealMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                               mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Correction requests of the caller's stores: a caller files one; the store's sales or
    service manager applies or rejects it; a second call confirms it."""

    serializer_class = CorrectionRequestSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    queryset = CorrectionRequest.objects.none()
    filterset_class = CorrectionFilter
    search_fields = []

    def get_permissions(self):
        if self.action in ("apply", "reject", "confirm"):
            return [permissions.IsAuthenticated(), DecisionPermissions()]
        return super().get_permissions()

    def get_queryset(self):
        return selectors.corrections_for(self.request.user).order_by("-filed_at", "-id")

    REVEALED = {CorrectionRequest.Field.MOBILE: PersonalDataReveal.Field.MOBILE,
                CorrectionRequest.Field.ID_NUMBER: PersonalDataReveal.Field.ID_NUMBER}

    def revealed_customer_ids(self, rows):
        return sorted({row.customer_id for row in rows if row.field in self.REVEALED})

    def revealed_fields(self, correction):
        field = self.REVEALED.get(correction.field)
        return [(correction.customer, field)] if field else []

    def _decide(self, request, service, arguments):
        correction = self.get_object()
        payload = DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        correction = service(correction=correction, actor=request.user,
                             **arguments(payload))
        return Response(self.get_serializer(correction).data)

    @extend_schema(request=DecisionSerializer, responses=CorrectionRequestSerializer)
    @action(detail=True, methods=["post"])
    def apply(self, request, *args, **kwargs):
        """Apply the correction to the record (sales/service manager of the store)."""
        return self._decide(request, services.correction_request_apply, lambda p: {
            "note": p.validated_data["note"], "value": p.validated_data.get("value") or None})

    @extend_schema(request=DecisionSerializer, responses=CorrectionRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        """Reject the correction; `note` (the reason) is required."""
        return self._decide(request, services.correction_request_reject,
                            lambda p: {"note": p.validated_data["note"]})

    @extend_schema(request=None, responses=CorrectionRequestSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, **kwargs):
        """A second call confirmed the corrected record with the customer."""
        correction = services.correction_request_confirm(correction=self.get_object(),
                                                         actor=request.user)
        return Response(self.get_serializer(correction).data)


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("vehicles", VehicleViewSet, basename="vehicle")
    router.register("sales", SaleViewSet, basename="sale")
    router.register("service-visits", ServiceVisitViewSet, basename="service-visit")
    router.register("insurance-policies", InsurancePolicyViewSet, basename="insurance-policy")
    router.register("customer-merges", MergeViewSet, basename="customer-merge")
    router.register("correction-requests", CorrectionRequestViewSet, basename="correction-request")

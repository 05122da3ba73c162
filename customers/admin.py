from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    CorrectionRequest,
    Customer,
    CustomerMerge,
    FamilyMember,
    InsurancePolicy,
    PersonalDataReveal,
    Sale,
    ServiceRule,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)


class FamilyInline(admin.TabularInline):
    model = FamilyMember
    extra = 0


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["id", "name", "kind", "store", "owner", "is_active"]
    list_filter = ["store", "kind", "is_active"]
    search_fields = ["name", "mobile"]
    raw_id_fields = ["owner", "merged_into"]
    exclude = ["id_number_hash"]
    inlines = [FamilyInline]

    def get_search_results(self, request, queryset, search_term):
        """A whole ID number is found by its keyed hash (the column itself is encrypted)."""
        results, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if len(term) == 18:
            results |= queryset.with_id_number(term)
        return results, duplicates


@admin.register(Vehicle)
class VehicleAdmin(SimpleHistoryAdmin):
    list_display = ["vin", "plate", "model_name", "customer", "store", "next_service_due_on",
                    "insurance_expires_on", "is_active"]
    list_filter = ["store", "is_active"]
    search_fields = ["=vin", "plate"]
    raw_id_fields = ["customer"]


@admin.register(ServiceRule)
class ServiceRuleAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "first_service_months", "first_service_km", "service_interval_months"]


for model in (Sale, ServiceVisit, InsurancePolicy, VehicleOwnership, CorrectionRequest):
    admin.site.register(model, SimpleHistoryAdmin, raw_id_fields=[
        f.name for f in model._meta.fields if f.many_to_one and f.name in ("vehicle", "customer")])


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    list_display = ["merged_at", "kept", "merged", "merged_by", "undone_at"]
    readonly_fields = [f.name for f in CustomerMerge._meta.fields]


@admin.register(PersonalDataReveal)
class PersonalDataRevealAdmin(admin.ModelAdmin):
    list_display = ["revealed_at", "user", "customer", "field", "ip_address"]
    readonly_fields = [f.name for f in PersonalDataReveal._meta.fields]

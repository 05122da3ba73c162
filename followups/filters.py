"""The follow-up filters shared by the list pages and the API: one FilterSet each."""


from crm_site import validation

from .models import Appointment


class AppointmentFilter(validation.FilterSet):
    class Meta:
        model = Appointment
        fields = ["status", "booked_for", "customer", "vehicle", "store"]

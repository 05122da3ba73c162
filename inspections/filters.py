"""The rectification filters of the list page and of the API: one FilterSet."""

from crm_site import validation

from .models import Rectification


class RectificationFilter(validation.FilterSet):
    class Meta:
        model = Rectification
        fields = ["store", "status", "area", "responsible"]

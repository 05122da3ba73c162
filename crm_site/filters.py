"""The outbox filters of its page and of the API: one FilterSet."""

from . import validation
from .models import Message


class MessageFilter(validation.FilterSet):
    class Meta:
        model = Message
        fields = ["status", "delivery", "store", "template_code", "purpose"]

"""`refused(field, message)`: the block must be refused with a ValidationError naming
`field` (NON_FIELD_ERRORS for an error of the whole) with a message containing `message`,
not merely with any validation error."""

from contextlib import contextmanager

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def errors_of(error):
    """{field: [messages]} of a ValidationError, whether it was raised with a dict or not."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {NON_FIELD_ERRORS: error.messages}


@contextmanager
def refused(field, message=""):
    with pytest.raises(ValidationError) as caught:
        yield caught
    errors = errors_of(caught.value)
    assert field in errors, f"expected an error on {field!r}, got {errors}"
    assert any(message in text for text in errors[field]), \
        f"expected {message!r} in the {field!r} errors, got {errors[field]}"


def api_errors(response):
    """{field: [messages]} of an API error body (crm_site.errors), after checking it has
    the one shape every API error has."""
    body = response.json()
    assert set(body) >= {"code", "message", "fields"}, body
    return {name: [each["message"] for each in errors] for name, errors in body["fields"].items()}

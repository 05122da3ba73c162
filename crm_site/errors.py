"""The one shape of every error the API answers, whatever raised it:

    {"code": "invalid", "message": "...", "fields": {"mobile": [{"code": "...", "message": "..."}]}}

`code` is stable (clients branch on it), `message` is for a person, in the request's
language; `fields` names each refused field (nested ones by a dotted path, "items.0.name";
errors of no one field under "non_field_errors") and is empty for errors that are not
about input. Codes: invalid, parse_error, not_authenticated, authentication_failed,
permission_denied, not_found, method_not_allowed, not_acceptable,
unsupported_media_type, throttled, conflict."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings

CODES = ("invalid", "parse_error", "not_authenticated", "authentication_failed",
         "permission_denied", "not_found", "method_not_allowed", "not_acceptable",
         "unsupported_media_type", "throttled", "conflict")


def invalid_message():
    return _("输入有误，请按所列字段修改。")


def not_found_message():
    return _("未找到。")


def body(code, message, fields=None):
    return {"code": code, "message": str(message), "fields": fields or {}}


def _flatten(details, path=""):
    """(field path, [{code, message}]) pairs of DRF's full error details."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        yield path, [{"code": details["code"] or "invalid", "message": str(details["message"])}]
    elif isinstance(details, dict):
        for name, value in details.items():
            yield from _flatten(value, f"{path}.{name}" if path else str(name))
    elif isinstance(details, list):
        if all(isinstance(each, dict) and set(each) == {"message", "code"} for each in details):
            if details:
                yield path, [{"code": each["code"] or "invalid", "message": str(each["message"])}
                             for each in details]
        else:
            for index, value in enumerate(details):
                yield from _flatten(value, f"{path}.{index}" if path else str(index))


def field_errors(details):
    """{field: [{code, message}]} from DRF's get_full_details() of a ValidationError."""
    if isinstance(details, list):
        details = {api_settings.NON_FIELD_ERRORS_KEY: details}
    fields = {}
    for path, errors in _flatten(details):
        fields.setdefault(path or api_settings.NON_FIELD_ERRORS_KEY, []).extend(errors)
    return fields


def invalid_body(fields):
    """The 400 body for refused input: the message is the request's own non-field
    error when there is one, else a general one pointing at the fields."""
    general = fields.get(api_settings.NON_FIELD_ERRORS_KEY)
    message = general[0]["message"] if general else invalid_message()
    return body("invalid", message, fields)


def invalid_response(messages_by_field, status=400):
    """A JSON 400 for input refused outside DRF (middleware): {field: [message]}."""
    fields = {name: [{"code": "invalid", "message": str(message)} for message in messages]
              for name, messages in messages_by_field.items()}
    return JsonResponse(invalid_body(fields), status=status)

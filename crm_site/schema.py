"""Adjustments of the generated OpenAPI schema."""

from drf_spectacular.openapi import AutoSchema

TIME_PATTERN = r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"


def _string_schemas(node):
    """Every schema of type string anywhere in `node` (the generated document)."""
    if isinstance(node, dict):
        if node.get("type") == "string":
            yield node
        for value in list(node.values()):
            yield from _string_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _string_schemas(value)


def local_times(result, generator, request, public):
    """Times of day (opening hours, SMS windows) are local wall-clock times written
    "09:00:00", without an offset. JSON Schema's "time" format is RFC 3339's full-time,
    which requires one, so clients validating the schema would reject every answer: say
    what is sent instead."""

    for node in _string_schemas(result):
        if node.get("format") == "time":
            del node["format"]
            node["pattern"] = TIME_PATTERN
            node.setdefault("example", "09:00:00")
    return result


class OneObjectSchema(AutoSchema):
    """For a viewset whose GET of the collection answers one object (figures, a
    summary), not a list: drf-spectacular would otherwise call it an array."""

    def _is_list_view(self, serializer=None):
        return False


def plausible_dates(result, generator, request, public):
    """Dates and times are accepted between 1900 and 2099 (crm_site.validation): say so,
    so that clients do not send year 1 or 9999 and learn it from a 400."""
    from .validation import DATE_PATTERN

    for node in _string_schemas(result):
        if node.get("format") in ("date", "date-time"):
            node.setdefault("pattern", DATE_PATTERN)
    return result


_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
_ERRORS = {
    "400": ("Refused input: the fields named with their messages (non_field_errors for "
            "the whole request).",
            {"oneOf": [{"type": "object", "additionalProperties": {}},
                       {"type": "array", "items": {"type": "string"}}]}),
    "401": ("Not signed in (no or an invalid token).", _DETAIL),
    "403": ("Signed in, but the role may not do this.", _DETAIL),
    "404": ("No such row among the caller's stores.", _DETAIL),
}


def documented_errors(result, generator, request, public):
    """Every operation may answer 400, 401, 403 and 404 with DRF's error bodies: the
    schema says so, so that clients (and schema checks) expect them."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, (description, body) in _ERRORS.items():
                operation["responses"].setdefault(status, {
                    "description": description,
                    "content": {"application/json": {"schema": body}},
                })
    return result


def empty_query_means_absent(result, generator, request, public):
    """A query parameter sent empty (?status=) filters nothing, as if absent (django-filter
    and crm_site.validation.query_choice both read it so): the schema allows "" among
    the choices. Any other value outside them is a 400."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and "enum" in schema and "" not in schema["enum"]:
                    schema["enum"] = [*schema["enum"], ""]
    return result

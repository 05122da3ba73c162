"""Adjustments of the generated OpenAPI schema."""

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent

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


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API (crm_site.errors).",
    "properties": {
        "code": {"type": "string", "description": "Stable: invalid, parse_error, "
                 "not_authenticated, authentication_failed, permission_denied, not_found, "
                 "method_not_allowed, not_acceptable, unsupported_media_type, throttled, "
                 "conflict."},
        "message": {"type": "string", "description": "For a person, in the request's "
                    "language (the language cookie, else Accept-Language; Chinese by default)."},
        "fields": {
            "type": "object",
            "description": "Each refused field (nested ones by a dotted path), "
                           "non_field_errors for the request as a whole; empty otherwise.",
            "additionalProperties": {"type": "array", "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                "required": ["code", "message"]}},
        },
    },
    "required": ["code", "message", "fields"],
}
ERROR_DESCRIPTIONS = {
    "400": "Refused input: the fields named with their messages (non_field_errors for "
           "the whole request).",
    "401": "Not signed in (no, an expired or an invalid token).",
    "403": "Signed in, but the role may not do this, or the row is not in its stores.",
    "404": "No such row among the caller's stores (or no such page of the list).",
    "429": "Too many requests of this kind: wait the seconds in Retry-After.",
}


class AutoSchema(openapi.AutoSchema):
    """The site's schema of an operation: tagged with the app that owns it (customers,
    followups, complaints, inspections, satisfaction, site) and documenting the errors it
    may answer, each with the one error body (crm_site.errors): 401 and 403 everywhere
    (every operation needs a signed-in user with a role), 400 where input is taken (a
    body or query parameters), 404 where the path or a query parameter names a row (or a
    page past the last), 429 where a rate applies."""

    def get_tags(self):
        app = type(self.view).__module__.split(".")[0]
        return ["site" if app == "crm_site" else app]

    def error_statuses(self, operation):
        statuses = ["401", "403"]
        takes_query = any(each.get("in") == "query" for each in operation.get("parameters", []))
        if self.method in ("POST", "PUT", "PATCH") or takes_query:
            statuses.append("400")
        if "{" in self.path or takes_query:  # a row named by the path or a query
            statuses.append("404")  # (?store=), or a page past the last
        if self.view.get_throttles():
            statuses.append("429")
        return sorted(statuses)

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = ResolvedComponent(name="Error", type=ResolvedComponent.SCHEMA,
                                  object="Error", schema=ERROR_SCHEMA)
        registry.register_on_missing(error)
        for status in self.error_statuses(operation):
            operation["responses"].setdefault(status, {
                "description": ERROR_DESCRIPTIONS[status],
                "content": {"application/json": {"schema": error.ref}},
            })
        return operation


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

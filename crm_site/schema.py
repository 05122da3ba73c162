"""Adjustments of the generated OpenAPI schema."""

from drf_spectacular.openapi import AutoSchema

TIME_PATTERN = r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"


def local_times(result, generator, request, public):
    """Times of day (opening hours, SMS windows) are local wall-clock times written
    "09:00:00", without an offset. JSON Schema's "time" format is RFC 3339's full-time,
    which requires one, so clients validating the schema would reject every answer: say
    what is sent instead."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("format") == "time":
                del node["format"]
                node["pattern"] = TIME_PATTERN
                node.setdefault("example", "09:00:00")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


class OneObjectSchema(AutoSchema):
    """For a viewset whose GET of the collection answers one object (figures, a
    summary), not a list: drf-spectacular would otherwise call it an array."""

    def _is_list_view(self, serializer=None):
        return False

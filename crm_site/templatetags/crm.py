from django import template

register = template.Library()


@register.filter
def mask_mobile(value):
    """138****5678: the middle four digits of a mobile hidden."""
    value = str(value or "")
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}****{value[-4:]}"


@register.simple_tag(takes_context=True)
def page_url(context, number, param="page"):
    """The current URL's query string with `param` set to page `number`: every filter of
    the list is kept (`?status=open&page=2`)."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"


@register.filter
def field_label(form, name):
    """The label of a form's field by name (the name itself when the form has none)."""
    field = form.fields.get(name)
    return field.label if field is not None and field.label else name

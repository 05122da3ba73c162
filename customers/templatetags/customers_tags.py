from django import template

register = template.Library()


@register.filter
def mask_id(value):
    """310***********123X: an ID number or credit code with the middle hidden."""
    value = str(value or "")
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


@register.filter
def masked(value, field):
    """Mask by field name: mobile or an identifier."""
    from crm_site.templatetags.crm import mask_mobile

    return mask_mobile(value) if field == "mobile" else mask_id(value)


def _correction_masks():
    from crm_site.templatetags.crm import mask_mobile

    from ..models import CorrectionRequest

    return {CorrectionRequest.Field.MOBILE: mask_mobile, CorrectionRequest.Field.ID_NUMBER: mask_id}


@register.filter
def masked_correction(value, field):
    """A correction's value as pages and the API show it: a mobile or ID number masked
    (the customer's page reveals the current one, logged), any other field as it is."""
    mask = _correction_masks().get(field)
    return mask(value) if mask and value else value

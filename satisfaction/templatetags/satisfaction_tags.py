from django import template

from satisfaction.models import Department

register = template.Library()


@register.filter
def department_label(code):
    """The name of the department a follow-up answer is about (stored as a code)."""
    return Department(code).label if code in Department.values else code

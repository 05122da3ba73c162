from django import forms
from django.utils.translation import gettext_lazy as _

from . import validation
from .models import Store, User
from .roles import Role


class StaffForm(validation.ModelForm):
    """Create or edit a member of staff. The password is asked only on create."""

    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput,
                               required=False, strip=False)
    stores = forms.ModelMultipleChoiceField(label=_("门店"), queryset=Store.objects.none(),
                                            widget=forms.CheckboxSelectMultiple)
    roles = forms.MultipleChoiceField(label=_("角色"), choices=Role.choices,
                                      widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = User
        fields = ["username", "last_name", "first_name", "mobile", "email", "birthday",
                  "is_active"]
        labels = {"last_name": _("姓"), "first_name": _("名")}
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, stores, creating, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores
        self.creating = creating
        if creating:
            self.fields["password"].required = True
            del self.fields["is_active"]
        else:
            del self.fields["password"]
            del self.fields["username"]
            self.initial["stores"] = list(self.instance.stores.values_list("pk", flat=True))
            self.initial["roles"] = list(self.instance.role_codes)

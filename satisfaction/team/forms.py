"""Forms of the team pages. They only shape input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site import validation
from crm_site.forms import StyledFormMixin

from ..models import Frequency, IncentiveRule, OneToOneTalk, SmileVote, TrainingSession

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TalkForm(StyledFormMixin, validation.ModelForm):
    class Meta:
        model = OneToOneTalk
        fields = ["staff", "held_on", "minutes", "notes"]
        widgets = {"held_on": DATE, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = members


class VoteForm(StyledFormMixin, validation.ModelForm):
    class Meta:
        model = SmileVote
        fields = ["nominee", "reason"]

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nominee"].queryset = candidates


class SessionForm(StyledFormMixin, validation.ModelForm):
    """The session, then one attended box and one score per member of staff."""

    class Meta:
        model = TrainingSession
        fields = ["plan", "held_on", "topic", "minutes", "notes"]
        widgets = {"held_on": DATE, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, plans, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        self.staff = list(staff)
        for person in self.staff:
            self.fields[f"attended_{person.pk}"] = forms.BooleanField(
                label=str(person), required=False, initial=True)
            self.fields[f"score_{person.pk}"] = forms.DecimalField(
                label=_("考核得分"), required=False, min_value=0, max_value=100, decimal_places=2)
        self.style()

    def rows(self):
        for person in self.staff:
            yield person, self[f"attended_{person.pk}"], self[f"score_{person.pk}"]

    def attendance(self):
        data = self.cleaned_data
        return [(person, data[f"attended_{person.pk}"], data[f"score_{person.pk}"], "")
                for person in self.staff
                if data[f"attended_{person.pk}"] or data[f"score_{person.pk}"] is not None]


class FrequencyForm(StyledFormMixin, validation.Form):
    frequency = forms.ChoiceField(label=_("频次"), choices=Frequency.choices)


class IncentiveRuleForm(StyledFormMixin, validation.ModelForm):
    class Meta:
        model = IncentiveRule
        fields = ["kind", "threshold", "amount", "is_active", "note"]

    def validate_unique(self):
        """The service sets the store's rule whether or not it exists yet."""

    def _post_clean(self):
        """The service validates (the model's own check would need the store)."""

"""The settings pages of rows a manager tunes (incentive rules, targets, greetings,
check times, ...): one table of the rows the user may see, one form to change a row
(?edit=id) or add one, each write with a change note, and the "what changed" list.

A row without a store is the group's default; staff change the rows of their own
stores, and only a group administrator (superuser) changes the group's rows. Each app
names its page with a SettingsRows and its write with a service calling `row_save`."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .forms import StyledFormMixin, apply_errors
from .history import change_note as checked_note
from .history import changes, save_with_note
from .scoping import stores_of
from .validation import ModelForm


def scoped_rows(queryset, user, store_field="store"):
    """The group's rows and the rows of the user's stores (a superuser: all of them)."""
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(**{f"{store_field}__isnull": True})
                           | Q(**{f"{store_field}__in": stores_of(user).values("pk")}))


def row_save(*, actor, model, row, change_note, permission, fields, editable,
             store_field="store"):
    """Add (`row` None) or change a settings row: permission, the store's scope, the
    change note, unknown fields refused, validated, saved with its history."""
    if not actor.has_perm(permission):
        raise PermissionDenied(_("您没有修改该设置的权限。"))
    unknown = set(fields) - set(editable)
    if unknown:
        raise ValidationError({name: [_("不能修改该项。")] for name in sorted(unknown)})
    try:
        note = checked_note(change_note)
    except ValidationError as error:
        raise ValidationError({"change_note": error.message_dict["note"]}) from error
    if row is not None:
        row = model.objects.select_for_update().get(pk=row.pk)
        if store_field:
            _check_scope(actor, store_of(row, store_field))
    else:
        row = model()
    for name, value in fields.items():
        setattr(row, name, value)
    if store_field:
        _check_scope(actor, store_of(row, store_field), field=store_field.split("__")[0])
    return save_with_note(row, actor=actor, note=note)


def store_of(row, path):
    """The store id a row belongs to by `path` ("store", "template__store"); None: the
    group's row."""
    *through, last = path.split("__")
    for name in through:
        row = getattr(row, name, None)
        if row is None:
            return None
    return getattr(row, f"{last}_id")


def _check_scope(actor, store_id, field=None):
    if actor.is_superuser:
        return
    if store_id is None:
        message = _("集团默认规则只能由集团管理员修改；请为您的门店添加一条规则。")
    elif not stores_of(actor).filter(pk=store_id).exists():
        message = _("您无权操作该门店。")
    else:
        return
    if field:
        raise ValidationError({field: [message]})
    raise PermissionDenied(message)


@dataclass
class SettingsRows:
    """One settings page: its title and help text, the model, the fields shown and
    edited, the service that saves a row and the URL name of the page."""

    title: str
    intro: str
    model: type
    fields: tuple
    save: object  # service(actor=, row=, change_note=, **fields)
    url_name: str
    store_field: str | None = "store"
    related: tuple = field(default_factory=tuple)
    label: object = None  # historical record -> the row's name (local fields only)

    def rows(self, user):
        qs = self.model.objects.select_related(*self.related)
        if self.store_field:
            qs = scoped_rows(qs.select_related(self.store_field), user, self.store_field)
        return qs

    def form_class(self, user):
        page = self

        class RowForm(StyledFormMixin, ModelForm):
            class Meta:
                model = page.model
                fields = page.fields

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                from django import forms

                self.fields["change_note"] = forms.CharField(
                    label=_("修改说明"), max_length=100, help_text=_("为什么修改，记入修改记录。"))
                if page.store_field:
                    name, _sep, rest = page.store_field.partition("__")
                    if name in self.fields:
                        chosen = self.fields[name]
                        if rest:  # e.g. a checklist of the user's stores
                            chosen.queryset = scoped_rows(chosen.queryset, user, rest)
                        else:
                            chosen.queryset = stores_of(user)
                            chosen.required = not user.is_superuser
                self.style()

        return RowForm

    def view(self, request):
        user = request.user
        rows = list(self.rows(user))
        source = request.POST if request.method == "POST" else request.GET
        editing = next((r for r in rows if str(r.pk) == source.get("edit")), None)
        form = self.form_class(user)(request.POST if request.method == "POST" else None,
                                     instance=editing or self.model())
        if request.method == "POST" and form.is_valid():
            data = {name: form.cleaned_data[name] for name in self.fields}
            try:
                self.save(actor=user, row=editing, change_note=form.cleaned_data["change_note"],
                          **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("已保存。"))
                return redirect(self.url_name)
        columns = [str(self.model._meta.get_field(name).verbose_name) for name in self.fields]
        table = [(row, [self._shown(row, name) for name in self.fields]) for row in rows]
        history = self.model.history.select_related(*self.related, *(
            [self.store_field] if self.store_field and "__" not in self.store_field else []))
        if self.store_field and not user.is_superuser:
            history = history.filter(Q(**{f"{self.store_field}__isnull": True})
                                     | Q(**{f"{self.store_field}__in":
                                            stores_of(user).values("pk")}))
        return render(request, "crm_site/settings_rows.html", {
            "page": self, "columns": columns, "table": table, "form": form,
            "editing": editing,
            "changes": changes(history, fields=self.fields, row_label=self._label),
        })

    def _shown(self, row, name):
        model_field = self.model._meta.get_field(name)
        if model_field.choices:
            return getattr(row, f"get_{name}_display")()
        value = getattr(row, name)
        if isinstance(value, bool):
            return _("是") if value else _("否")
        if value is None:
            return _("集团默认") if name == self.store_field else "—"
        return value

    def _label(self, record):
        return self.label(record) if self.label else str(record.instance)


def settings_viewset(page, *, view_permission, add_permission, change_permission):
    """The API of a settings page: list and read the rows the user may see, add one
    (POST) or change one (PATCH), each with its `change_note`, through the page's service."""
    from rest_framework import mixins, permissions, serializers, viewsets

    from .permissions import ActionPermissions
    from .validation import ModelSerializer

    class RowSerializer(ModelSerializer):
        change_note = serializers.CharField(max_length=100, write_only=True)

        class Meta:
            model = page.model
            fields = ["id", *page.fields, "change_note"]

    class RowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
        __doc__ = f"{page.model.__name__} rows of the settings page, changed with a note."
        serializer_class = RowSerializer
        permission_classes = [permissions.IsAuthenticated, ActionPermissions]
        action_permissions = {"*": view_permission, "create": add_permission,
                              "update": change_permission, "partial_update": change_permission}
        http_method_names = ["get", "post", "patch", "head", "options"]

        def get_queryset(self):
            return page.rows(self.request.user).order_by("pk")

        def perform_create(self, serializer):
            data = dict(serializer.validated_data)
            serializer.instance = page.save(actor=self.request.user, row=None,
                                            change_note=data.pop("change_note"), **data)

        def perform_update(self, serializer):
            data = dict(serializer.validated_data)
            serializer.instance = page.save(actor=self.request.user, row=serializer.instance,
                                            change_note=data.pop("change_note", ""), **data)

    RowViewSet.__name__ = RowViewSet.__qualname__ = f"{page.model.__name__}SettingsViewSet"
    RowSerializer.__name__ = RowSerializer.__qualname__ = f"{page.model.__name__}SettingsSerializer"
    return RowViewSet

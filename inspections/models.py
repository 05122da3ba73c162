"""Daily inspections (DOMAIN.md section 6): checklist templates per area, the rounds the
scheduler plans from rule rows, per-item results with photos, and the timed
rectification of every failed item."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm_site.models import Store


class Area(models.TextChoices):
    SHOWROOM = "showroom", _("展厅")
    CUSTOMER_LOUNGE = "customer_lounge", _("客户休息区")
    BAR = "bar", _("吧台")
    RESTROOMS = "restrooms", _("卫生间")
    OFFICES = "offices", _("办公区")
    DISPLAY_CARS = "display_cars", _("展车")
    SERVICE_RECEPTION = "service_reception", _("服务接待区")


class Severity(models.TextChoices):
    MINOR = "minor", _("一般")
    MAJOR = "major", _("严重")


class Outcome(models.TextChoices):
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")
    NA = "na", _("不适用")


class ChecklistTemplateQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def defaults(self):
        """The group-wide defaults from DOMAIN.md; each store works on its own copy."""
        return self.filter(store__isnull=True)


class ChecklistTemplate(models.Model):
    """The standard one area is inspected against (检查表). A store row is that store's
    own copy, edited by its managers; a row without store is the default a new store
    copies. Every change to its items raises `version`; past inspections keep what they
    were scored against."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="checklist_templates", verbose_name=_("门店"))
    area = models.CharField(_("区域"), max_length=30, choices=Area.choices)
    name = models.CharField(_("名称"), max_length=100)
    version = models.PositiveIntegerField(_("版本"), default=1)
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("默认整改责任人"))
    is_active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords()

    objects = ChecklistTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = _("检查表")
        ordering = ["store_id", "area"]
        constraints = [
            models.UniqueConstraint(fields=["store", "area"], name="checklist_one_per_store_area",
                                    nulls_distinct=False),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"


class ChecklistItem(models.Model):
    """One standard of a checklist (e.g. "展厅温度约25℃"). Items with results are never
    edited in place: a change retires the row and adds a new one, so results keep their
    text; results also carry a copy of text and weight."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="items",
                                 verbose_name=_("检查表"))
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)
    text = models.CharField(_("标准"), max_length=300)
    weight = models.PositiveSmallIntegerField(_("权重"), default=1)
    photo_required = models.BooleanField(_("不合格须拍照"), default=True)
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices,
                                default=Severity.MINOR)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = _("检查项")
        ordering = ["template", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weight__gte=1), name="checklist_item_weight_positive"),
        ]

    def __str__(self):
        return self.text


class RoundRule(models.Model):
    """When an area is inspected: one round on each working day at `time_of_day` (store
    time). Showroom once a day; display cars at 09:00 and 14:15."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="rules",
                                 verbose_name=_("检查表"))
    time_of_day = models.TimeField(_("检查时间"))
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("检查计划")
        verbose_name_plural = _("检查计划")
        ordering = ["template", "time_of_day"]
        constraints = [
            models.UniqueConstraint(fields=["template", "time_of_day"], name="round_rule_once"),
        ]

    def __str__(self):
        return f"{self.template.name} {self.time_of_day:%H:%M}"


class DeadlinePolicy(models.Model):
    """How long the responsible person has to fix a failure, per area and severity,
    counted from the notice. A row of a store wins over a row without store; an area
    left empty means every area."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("门店"))
    area = models.CharField(_("区域"), max_length=30, choices=Area.choices, blank=True)
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices)
    minutes = models.PositiveIntegerField(_("整改时限（分钟）"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("整改时限")
        verbose_name_plural = _("整改时限")
        ordering = ["store_id", "area", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["store", "area", "severity"], name="deadline_policy_once",
                                    nulls_distinct=False),
            models.CheckConstraint(condition=models.Q(minutes__gte=1), name="deadline_policy_positive"),
        ]

    def __str__(self):
        return f"{self.get_area_display() or '*'} {self.get_severity_display()} {self.minutes}"


class InspectionQuerySet(models.QuerySet):
    def on_day(self, day):
        return self.filter(day=day)

    def completed(self):
        return self.filter(status=Inspection.Status.COMPLETED)


class Inspection(models.Model):
    """One inspection round (检查): an area of a store walked at a planned time, each item
    answered, scored when completed. Rounds of a rule are unique per day, so the
    scheduler can run any number of times."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("待检查")
        IN_PROGRESS = "in_progress", _("检查中")
        COMPLETED = "completed", _("已完成")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="inspections",
                              verbose_name=_("门店"))
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="inspections",
                                 verbose_name=_("检查表"))
    template_version = models.PositiveIntegerField(_("检查表版本"), null=True, blank=True)
    area = models.CharField(_("区域"), max_length=30, choices=Area.choices)
    rule = models.ForeignKey(RoundRule, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="inspections", verbose_name=_("检查计划"))
    day = models.DateField(_("日期"))
    scheduled_for = models.DateTimeField(_("计划时间"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="inspections", verbose_name=_("检查人"))
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1, null=True, blank=True)
    pass_count = models.PositiveSmallIntegerField(_("合格项"), default=0)
    fail_count = models.PositiveSmallIntegerField(_("不合格项"), default=0)
    na_count = models.PositiveSmallIntegerField(_("不适用项"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("检查")
        verbose_name_plural = _("检查")
        ordering = ["-scheduled_for", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "day"], name="inspection_once_per_rule_day"),
        ]
        indexes = [models.Index(fields=["store", "day"], name="inspection_store_day_idx")]
        permissions = [
            ("perform_inspection", _("执行检查")),
            ("view_inspection_reports", _("查看检查统计")),
        ]

    def __str__(self):
        return f"{self.get_area_display()} {timezone.localtime(self.scheduled_for):%Y-%m-%d %H:%M}"

    @property
    def is_open(self):
        return self.status != self.Status.COMPLETED


class InspectionResult(models.Model):
    """The answer to one item of one round. Text, weight, severity and photo rule are
    copied from the item when the round starts, so a later template change never
    rewrites it."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results",
                                   verbose_name=_("检查"))
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="results",
                             verbose_name=_("检查项"))
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)
    text = models.CharField(_("标准"), max_length=300)
    weight = models.PositiveSmallIntegerField(_("权重"))
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices)
    photo_required = models.BooleanField(_("不合格须拍照"))
    outcome = models.CharField(_("结果"), max_length=4, choices=Outcome.choices, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("整改责任人"))
    answered_at = models.DateTimeField(_("填写时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("填写人"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("检查结果")
        verbose_name_plural = _("检查结果")
        ordering = ["inspection", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="result_once_per_item"),
        ]

    def __str__(self):
        return f"{self.text}: {self.get_outcome_display() or '-'}"


class RectificationQuerySet(models.QuerySet):
    def unresolved(self):
        return self.filter(status__in=[Rectification.Status.OPEN, Rectification.Status.OVERDUE])


class Rectification(models.Model):
    """The timed fix (限时整改) of one failed item: who, by when, before and after photos,
    checked by a re-check. Once overdue it stays counted against the person
    (`overdue_at`), even when fixed later."""

    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        FIXED = "fixed", _("已整改待复查")
        VERIFIED = "verified", _("已复查")
        OVERDUE = "overdue", _("已超时")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="rectifications",
                              verbose_name=_("门店"))
    result = models.OneToOneField(InspectionResult, on_delete=models.PROTECT, related_name="rectification",
                                  verbose_name=_("不合格项"))
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="rectifications",
                                   verbose_name=_("检查"))
    area = models.CharField(_("区域"), max_length=30, choices=Area.choices)
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices)
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="rectifications", verbose_name=_("责任人"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    notified_at = models.DateTimeField(_("通知时间"))
    due_at = models.DateTimeField(_("整改期限"), db_index=True)
    fixed_at = models.DateTimeField(_("整改时间"), null=True, blank=True)
    fix_note = models.CharField(_("整改说明"), max_length=500, blank=True)
    verified_at = models.DateTimeField(_("复查时间"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("复查人"))
    verify_note = models.CharField(_("复查意见"), max_length=500, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("复查不通过次数"), default=0)
    overdue_at = models.DateTimeField(_("超时时间"), null=True, blank=True)
    history = HistoricalRecords()

    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改")
        verbose_name_plural = _("整改")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="rectification_due_idx")]
        permissions = [
            ("fix_rectification", _("整改本人负责的问题")),
            ("verify_rectification", _("复查整改")),
        ]

    def __str__(self):
        return f"{self.result.text} ({self.get_status_display()})"

    @property
    def counts_against(self):
        """Late: marked overdue, or fixed after the deadline (rules.rectification_late)."""
        from .rules import rectification_late

        return rectification_late(due_at=self.due_at, fixed_at=self.fixed_at,
                                  overdue_at=self.overdue_at)


def photo_path(instance, filename):
    now = timezone.now()
    return f"inspections/{now:%Y/%m/%d}/{uuid.uuid4().hex}.jpg"


class Photo(models.Model):
    """A photo taken on a round: evidence of a failure (before) or of the fix (after).
    Checked by content, resized and re-encoded as JPEG before it is stored; the server
    records when and by whom."""

    class Kind(models.TextChoices):
        BEFORE = "before", _("问题照片")
        AFTER = "after", _("整改后照片")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("门店"))
    result = models.ForeignKey(InspectionResult, on_delete=models.PROTECT, related_name="photos",
                               verbose_name=_("检查结果"))
    rectification = models.ForeignKey(Rectification, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="photos", verbose_name=_("整改"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    image = models.ImageField(_("照片"), upload_to=photo_path)
    width = models.PositiveIntegerField(_("宽"), default=0)
    height = models.PositiveIntegerField(_("高"), default=0)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("照片")
        verbose_name_plural = _("照片")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="before", rectification__isnull=True)
                | models.Q(kind="after", rectification__isnull=False),
                name="photo_after_belongs_to_rectification",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.uploaded_at:%Y-%m-%d %H:%M}"

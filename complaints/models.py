"""Complaints (投诉): every problem a customer raises, on the clock.

A complaint carries its clocks as stored, indexed instants: for each of the response,
resolution and department windows the warning instant, the deadline, and the moments
the sweep recorded its warning and breach (state flags written in the same transaction
as the event and the notification, so each is recorded once). The arithmetic lives in
complaints/rules.py; the services keep these columns up to date.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm_site.models import Store

from . import rules


class Severity(models.TextChoices):
    GENERAL = "general", _("一般投诉")
    IMPORTANT = "important", _("重要投诉")


class Reason(models.TextChoices):
    """Why a complaint is important (DOMAIN.md section 5)."""

    A = "A", _("A 涉及车辆安全关键部件")
    B = "B", _("B 可能引起民事或刑事诉讼")
    C = "C", _("C 可能引起媒体负面报道")
    D = "D", _("D 客户要求厂家答复")
    E = "E", _("E 公安、市场监管或消协介入")
    F = "F", _("F 要求换车或赔偿")
    G = "G", _("G 重复维修")
    H = "H", _("H 其他需同等对待的情况")


SLA_POLICY_FIELDS = ("response_minutes", "resolution_minutes", "department_days",
                     "warning_percent", "repeat_window_days", "working_hours_only")


class SlaPolicy(models.Model):
    """The clock of one severity: minutes to respond and to resolve, days for the
    department to report back, when to warn (percent of each window), how far back a
    complaint counts as a repeat, and whether only the store's working hours count.

    A row without a store is the group's policy, the default of every store; a row with
    a store is that store's own policy for the severity, which overrides the group's.
    Editable by managers on the settings page; defaults from DOMAIN.md by data migration."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="sla_policies", verbose_name=_("门店"),
                              help_text=_("留空为集团默认规则。"))
    severity = models.CharField(_("投诉级别"), max_length=10, choices=Severity.choices)
    response_minutes = models.PositiveIntegerField(
        _("响应时限(分钟)"), default=30, validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(
        _("解决时限(分钟)"), default=24 * 60, validators=[MinValueValidator(1)])
    department_days = models.PositiveSmallIntegerField(
        _("部门反馈时限(天)"), default=3, validators=[MinValueValidator(1)])
    warning_percent = models.PositiveSmallIntegerField(
        _("预警比例(%)"), default=80, validators=[MinValueValidator(1), MaxValueValidator(99)])
    repeat_window_days = models.PositiveSmallIntegerField(_("重复投诉判定期(天)"), default=90)
    working_hours_only = models.BooleanField(
        _("只计工作时间"), default=False,
        help_text=_("勾选后只计算门店营业时间，部门反馈按工作日计算。"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("投诉时限规则")
        verbose_name_plural = _("投诉时限规则")
        ordering = ["store_id", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["severity"], condition=Q(store__isnull=True),
                                    name="slapolicy_one_group_row_per_severity"),
            models.UniqueConstraint(fields=["store", "severity"],
                                    condition=Q(store__isnull=False),
                                    name="slapolicy_one_store_row_per_severity"),
            models.CheckConstraint(condition=Q(response_minutes__gte=1)
                                   & Q(resolution_minutes__gte=1) & Q(department_days__gte=1),
                                   name="slapolicy_windows_positive"),
            models.CheckConstraint(condition=Q(warning_percent__gte=1)
                                   & Q(warning_percent__lte=99),
                                   name="slapolicy_warning_percent_range"),
        ]

    def __str__(self):
        severity = str(self.get_severity_display())
        return f"{self.store.name} · {severity}" if self.store_id else severity

    def as_rules(self) -> rules.Policy:
        return rules.Policy(
            response=timedelta(minutes=self.response_minutes),
            resolution=timedelta(minutes=self.resolution_minutes),
            department_days=self.department_days,
            warning_percent=self.warning_percent,
            repeat_window=timedelta(days=self.repeat_window_days),
            working_hours_only=self.working_hours_only,
        )


class ComplaintQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status=Complaint.Status.CLOSED)

    def for_stores(self, stores):
        return self.filter(store__in=stores)


class Complaint(models.Model):
    """A problem a customer raised (even a misunderstanding). It is responded to by a
    real contact, handed to the responsible department, resolved, verified with the
    customer by a call back, and reissued in a new round until the customer is satisfied.

    Clocks: `received_at` is when the customer raised it. The response clock stops at
    the first real contact (`responded_at`); the resolution clock at the first
    resolution (`resolved_at`) and may pause while waiting on the customer or the
    manufacturer (`paused_at`); the department clock runs from each hand-off
    (`handed_off_at`, once per round) to the department's feedback.
    """

    class Channel(models.TextChoices):
        PHONE = "phone", _("电话")
        WALK_IN = "walk_in", _("到店")
        FOLLOWUP_CALL = "followup_call", _("回访电话")
        SURVEY = "survey", _("满意度调查")
        ONLINE = "online", _("网络")
        MANUFACTURER = "manufacturer", _("厂家热线")
        SOCIAL_MEDIA = "social_media", _("社交媒体")

    class Category(models.TextChoices):
        PRODUCT = "product", _("产品质量")
        SERVICE_QUALITY = "service_quality", _("维修质量")
        ATTITUDE = "attitude", _("服务态度")
        PRICE = "price", _("价格")
        WAITING = "waiting", _("等待时间")
        FACILITY = "facility", _("设施环境")
        PARTS = "parts", _("配件")
        TECHNICAL = "technical", _("技术")
        MANAGEMENT = "management", _("管理")
        OTHER = "other", _("其他")

    class Department(models.TextChoices):
        SALES = "sales", _("销售部")
        SERVICE = "service", _("服务部")
        PARTS = "parts", _("配件部")
        CR = "cr", _("客户关爱部")
        ADMIN = "admin", _("行政部")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        NEW = "new", _("待响应")
        RESPONDED = "responded", _("已响应")
        HANDED_OFF = "handed_off", _("待部门反馈")
        FEEDBACK = "feedback", _("部门已反馈")
        RESOLVED = "resolved", _("已解决待回访")
        CLOSED = "closed", _("已结案")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="complaints",
                              verbose_name=_("门店"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="complaints", verbose_name=_("客户"))
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="complaints", verbose_name=_("车辆"))
    channel = models.CharField(_("投诉渠道"), max_length=20, choices=Channel.choices)
    category = models.CharField(_("投诉类别"), max_length=20, choices=Category.choices)
    description = models.TextField(_("投诉内容"))
    severity = models.CharField(_("投诉级别"), max_length=10, choices=Severity.choices,
                                default=Severity.GENERAL, db_index=True)
    important_reasons = models.CharField(_("重要投诉原因"), max_length=8, blank=True,
                                         help_text=_("A至H中的一个或多个字母"))
    department = models.CharField(_("责任部门"), max_length=10, choices=Department.choices,
                                  blank=True, db_index=True)
    department_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="department_complaints", verbose_name=_("部门负责人"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_complaints", verbose_name=_("跟进人"))
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="logged_complaints", verbose_name=_("登记人"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices,
                              default=Status.NEW, db_index=True)
    round = models.PositiveSmallIntegerField(_("处理轮次"), default=1)
    root_cause = models.TextField(_("原因分析"), blank=True)
    corrective_action = models.TextField(_("纠正措施"), blank=True)
    department_feedback = models.TextField(_("部门处理反馈"), blank=True)
    resolution = models.TextField(_("解决方案"), blank=True)
    is_repeat = models.BooleanField(_("重复投诉"), default=False)
    repeat_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="repeats", verbose_name=_("前次投诉"))

    received_at = models.DateTimeField(_("投诉时间"))
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    response_warn_at = models.DateTimeField(_("响应预警时间"))
    response_due_at = models.DateTimeField(_("响应截止时间"), db_index=True)
    responded_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    response_warned_at = models.DateTimeField(_("响应预警记录时间"), null=True, blank=True)
    response_breached_at = models.DateTimeField(_("响应超时记录时间"), null=True, blank=True)

    resolution_warn_at = models.DateTimeField(_("解决预警时间"))
    resolution_due_at = models.DateTimeField(_("解决截止时间"), db_index=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    resolution_warned_at = models.DateTimeField(_("解决预警记录时间"), null=True, blank=True)
    resolution_breached_at = models.DateTimeField(_("解决超时记录时间"), null=True, blank=True)
    paused_at = models.DateTimeField(_("暂停开始"), null=True, blank=True)
    pause_reason = models.CharField(_("暂停原因"), max_length=200, blank=True)
    paused_seconds = models.PositiveIntegerField(_("累计暂停(秒)"), default=0)

    handed_off_at = models.DateTimeField(_("转交部门时间"), null=True, blank=True)
    department_warn_at = models.DateTimeField(_("部门反馈预警时间"), null=True, blank=True)
    department_due_at = models.DateTimeField(_("部门反馈截止时间"), null=True, blank=True,
                                             db_index=True)
    department_feedback_at = models.DateTimeField(_("部门反馈时间"), null=True, blank=True)
    department_warned_at = models.DateTimeField(_("部门预警记录时间"), null=True, blank=True)
    department_breached_at = models.DateTimeField(_("部门超时记录时间"), null=True, blank=True)

    current_due_at = models.DateTimeField(
        _("当前截止时间"), null=True, blank=True,
        help_text=_("正在计时的时限的截止时间（看板排序用），结案后为空。"))
    callback_at = models.DateTimeField(_("最近回访时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=[
        "response_warned_at", "response_breached_at", "resolution_warned_at",
        "resolution_breached_at", "department_warned_at", "department_breached_at",
        "current_due_at"])

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("record_department_feedback", _("填写部门处理反馈")),
            ("view_complaint_report", _("查看投诉报表")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(response_warn_at__lte=models.F("response_due_at"))
                                   & Q(resolution_warn_at__lte=models.F("resolution_due_at")),
                                   name="complaint_warning_before_deadline"),
            models.CheckConstraint(condition=Q(responded_at__isnull=True)
                                   | Q(responded_at__gte=models.F("received_at")),
                                   name="complaint_responded_after_received"),
            models.CheckConstraint(condition=Q(resolved_at__isnull=True)
                                   | Q(responded_at__isnull=False),
                                   name="complaint_resolved_after_responded"),
            models.CheckConstraint(condition=Q(severity="important") | Q(important_reasons=""),
                                   name="complaint_reasons_only_when_important"),
        ]
        indexes = [
            models.Index(fields=["store", "status"], name="complaint_store_status_idx"),
            # The board: a store's open complaints, the most urgent deadline first.
            models.Index(fields=["store", "current_due_at", "id"], name="complaint_board_idx",
                         condition=~Q(status="closed")),
            models.Index(fields=["customer", "received_at"], name="complaint_customer_idx"),
            models.Index(fields=["vehicle", "received_at"], name="complaint_vehicle_idx"),
            # The sweep's range scans: only rows whose mark is still to be made.
            models.Index(fields=["response_warn_at", "response_due_at"], name="complaint_resp_warn_idx",
                         condition=Q(responded_at__isnull=True, response_warned_at__isnull=True)),
            models.Index(fields=["response_due_at"], name="complaint_resp_due_idx",
                         condition=Q(responded_at__isnull=True,
                                     response_breached_at__isnull=True)),
            models.Index(fields=["resolution_warn_at", "resolution_due_at"], name="complaint_reso_warn_idx",
                         condition=Q(resolved_at__isnull=True,
                                     resolution_warned_at__isnull=True)),
            models.Index(fields=["resolution_due_at"], name="complaint_reso_due_idx",
                         condition=Q(resolved_at__isnull=True,
                                     resolution_breached_at__isnull=True)),
            models.Index(fields=["department_warn_at", "department_due_at"], name="complaint_dept_warn_idx",
                         condition=Q(department_feedback_at__isnull=True,
                                     department_warned_at__isnull=True)),
            models.Index(fields=["department_due_at"], name="complaint_dept_due_idx",
                         condition=Q(department_feedback_at__isnull=True,
                                     department_breached_at__isnull=True)),
        ]

    def __str__(self):
        return f"#{self.pk} {self.customer_id and self.customer}"

    # Windows and states -------------------------------------------------------------
    @property
    def response_window(self):
        return rules.Window(self.response_warn_at, self.response_due_at)

    @property
    def resolution_window(self):
        return rules.Window(self.resolution_warn_at, self.resolution_due_at)

    @property
    def department_window(self):
        if self.department_due_at is None:
            return None
        return rules.Window(self.department_warn_at, self.department_due_at)

    @property
    def is_paused(self):
        return self.paused_at is not None

    @property
    def reason_list(self):
        return list(self.important_reasons)

    def get_reasons_display(self):
        labels = dict(Reason.choices)
        return [labels[letter] for letter in self.important_reasons if letter in labels]

    def clock_states(self, now):
        """{clock: SlaState} of the clocks that matter now (running or finished)."""
        states = {
            "response": rules.sla_state(self.response_window, now=now, done_at=self.responded_at),
            "resolution": rules.sla_state(self.resolution_window, now=now,
                                          done_at=self.resolved_at, paused_at=self.paused_at),
        }
        if self.department_window:
            states["department"] = rules.sla_state(self.department_window, now=now,
                                                   done_at=self.department_feedback_at)
        return states

    def sla_state(self, now):
        """The worst state of the clocks still running (a closed complaint: of all)."""
        states = self.clock_states(now)
        running = []
        if self.responded_at is None:
            running.append(states["response"])
        if self.resolved_at is None:
            running.append(states["resolution"])
        if "department" in states and self.department_feedback_at is None:
            running.append(states["department"])
        return rules.worst(*(running or states.values()))

    def current_window(self):
        """(clock name, Window) the board counts down to, or (None, None)."""
        if self.status == self.Status.CLOSED:
            return None, None
        if self.responded_at is None:
            return "response", self.response_window
        if self.resolved_at is None:
            return "resolution", self.resolution_window
        if self.department_due_at and self.department_feedback_at is None:
            return "department", self.department_window
        return None, None

    def current_due(self):
        _clock, window = self.current_window()
        return window.due_at if window else None

    def allowed_actions(self):
        return rules.allowed_actions(self.status, paused=self.is_paused)

    def next_action(self):
        return rules.next_action(self.status, paused=self.is_paused)


class ComplaintEvent(models.Model):
    """One moment of a complaint's timeline: who did what, when. Written by the services
    and the sweep, never edited; `at` is when it happened, `recorded_at` when it was
    entered (a contact may be logged after the call)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("登记投诉")
        RESPONDED = "responded", _("首次响应")
        CONTACT = "contact", _("联系客户")
        HANDED_OFF = "handed_off", _("转交部门")
        DEPARTMENT_FEEDBACK = "department_feedback", _("部门反馈")
        RESOLVED = "resolved", _("解决")
        CALLBACK_SATISFIED = "callback_satisfied", _("回访满意")
        CALLBACK_UNSATISFIED = "callback_unsatisfied", _("回访不满意")
        REISSUED = "reissued", _("重新派单")
        PAUSED = "paused", _("暂停计时")
        RESUMED = "resumed", _("恢复计时")
        WARNING = "warning", _("即将超时")
        BREACH = "breach", _("已超时")
        ESCALATED = "escalated", _("升级通知")
        ATTACHMENT = "attachment", _("上传附件")
        CLASSIFIED = "classified", _("修改分类")

    class Clock(models.TextChoices):
        NONE = "", _("无")
        RESPONSE = "response", _("响应")
        RESOLUTION = "resolution", _("解决")
        DEPARTMENT = "department", _("部门反馈")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events",
                                  verbose_name=_("投诉"))
    kind = models.CharField(_("事件"), max_length=24, choices=Kind.choices)
    clock = models.CharField(_("时限"), max_length=12, choices=Clock.choices, blank=True)
    round = models.PositiveSmallIntegerField(_("轮次"), default=1)
    at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", verbose_name=_("操作人"))
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("投诉事件")
        verbose_name_plural = _("投诉事件")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["complaint", "at"], name="complaint_event_time_idx")]
        constraints = [
            # Each warning and breach of a clock is recorded once per round.
            models.UniqueConstraint(fields=["complaint", "kind", "clock", "round"],
                                    condition=Q(kind__in=["warning", "breach"]),
                                    name="complaint_event_mark_once"),
        ]

    def __str__(self):
        return f"{self.complaint_id} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M:%S}"


def attachment_path(instance, filename):
    return f"complaints/{instance.complaint_id}/{filename}"


class ComplaintAttachment(models.Model):
    """A photo or document of a complaint, checked by its content (not its name)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT,
                                  related_name="attachments", verbose_name=_("投诉"))
    file = models.FileField(_("文件"), upload_to=attachment_path)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小(字节)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("投诉附件")
        verbose_name_plural = _("投诉附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name

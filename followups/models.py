"""Follow-ups and reminder programmes: programmes and their steps (rules as data), the
task ledger the nightly planner fills, call attempts, appointments, satisfaction
answers, recall campaigns, car-care classes and the editable lists and settings."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm_site.models import Store
from customers.models import ServiceVisit


class Channel(models.TextChoices):
    SMS = "sms", _("短信")
    CALL = "call", _("电话")
    LIST = "list", _("名单抽取")


class FollowupSettings(models.Model):
    """The tunable numbers of the engine, one row (pk 1) edited by managers."""

    catch_up_days = models.PositiveSmallIntegerField(
        _("补排天数"), default=7, help_text=_("漏跑的夜间任务最多补排多少天"))
    call_lookahead_days = models.PositiveSmallIntegerField(
        _("电话提前排入天数"), default=2,
        help_text=_("电话任务提前几天写入任务表，周末和节假日的电话因此分几夜排入；"
                    "电话仍在计划日才出现在工作清单中"))
    retry_within_days = models.PositiveSmallIntegerField(
        _("未接通重拨间隔(天)"), default=2)
    max_attempts = models.PositiveSmallIntegerField(_("最多拨打次数"), default=3)
    lapsed_after_days = models.PositiveSmallIntegerField(
        _("流失客户判定(天未进厂)"), default=180)
    appointment_credit_days = models.PositiveSmallIntegerField(
        _("预约兑现窗口(天)"), default=7, help_text=_("进厂日期距预约日期在此天数内计为兑现"))
    sms_valid_days = models.PositiveSmallIntegerField(
        _("短信有效天数"), default=0, help_text=_("0 表示只在计划当天的发送时段内发送，过时作废"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("回访设置")
        verbose_name_plural = _("回访设置")

    def __str__(self):
        return str(_("回访设置"))

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class PlannerRun(models.Model):
    """One run of the nightly planner: the day it planned, when it started and finished,
    the nominal dates it covered per store and channel, and what it did. The job writes
    it; nobody edits it.

    A finished run is what lets the nights after it re-read, on the days it covered, only
    the cars and customers changed since it started (their history rows); a run that did
    not finish covers nothing, so the next night plans those days in full."""

    day = models.DateField(_("计划日期"), db_index=True)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # {"<store id>": {"call": ["YYYY-MM-DD", "YYYY-MM-DD"], "sms": [first, last]}}
    windows = models.JSONField(_("覆盖日期"), default=dict)
    counts = models.JSONField(_("结果"), default=dict)

    class Meta:
        verbose_name = _("夜间计划记录")
        verbose_name_plural = _("夜间计划记录")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.day} {self.started_at:%H:%M}"

    @property
    def seconds(self):
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 1)


class Programme(models.Model):
    """A reminder or follow-up programme (首保提醒, 定保提醒, 续保 ...): its date N comes from
    `anchor`; its steps say what happens how many days from N."""

    class Anchor(models.TextChoices):
        DELIVERY = "delivery", _("交车日期")
        SERVICE_OUT = "service_out", _("维修出厂日期")
        FIRST_SERVICE = "first_service", _("首保到期日")
        NEXT_SERVICE = "next_service", _("下次保养日")
        INSURANCE = "insurance", _("保险到期日")
        CAMPAIGN = "campaign", _("召回活动日期")
        CARE_CLASS = "care_class", _("养护课堂时间")
        BIRTHDAY = "birthday", _("客户生日")
        APPOINTMENT = "appointment", _("未到店的预约日期")

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    anchor = models.CharField(_("日期N"), max_length=20, choices=Anchor.choices)
    description = models.TextField(_("说明"), blank=True)
    closes_on_visit = models.BooleanField(
        _("进厂即结束"), default=False, help_text=_("车辆在本轮开始后进厂，则取消本轮剩余步骤"))
    closing_kinds = ArrayField(
        models.CharField(max_length=20, choices=ServiceVisit.RepairType.choices),
        verbose_name=_("结束本轮的进厂类型"), default=list, blank=True,
        help_text=_("只有这些维修类型的进厂才结束本轮（例如钣金喷漆不结束首保提醒）；空白：任何进厂"))
    assign_to_owner = models.BooleanField(
        _("分派给负责专员"), default=True,
        help_text=_("客户有负责专员时由其拨打；否则在本店回访员之间平均分配"))
    is_active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("提醒方案")
        verbose_name_plural = _("提醒方案")
        ordering = ["order", "code"]

    def __str__(self):
        return self.name


class Step(models.Model):
    """One step of a programme: `offset_days` from N (negative before), a channel, a
    purpose, the SMS template (code, text with {name} {plate} {model} {date} {store}
    {time}) or the call script (话术); `only_until_came_in` steps stop once the customer
    came in or agreed."""

    class Purpose(models.TextChoices):
        REMIND = "remind", _("提醒")
        INVITE = "invite", _("邀约")
        INVITE_AGAIN = "invite_again", _("再次邀约")
        LEARN_WHY = "learn_why", _("了解未到原因")
        SATISFACTION = "satisfaction", _("满意度回访")
        OFFER = "offer", _("活动优惠")
        DRAW_LIST = "draw_list", _("抽取名单")
        GREETING = "greeting", _("问候")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="steps",
                                  verbose_name=_("方案"))
    code = models.SlugField(_("代码"), max_length=40)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    offset_days = models.SmallIntegerField(_("距N天数"))
    offset_minutes = models.SmallIntegerField(
        _("距开始分钟"), null=True, blank=True,
        help_text=_("只用于有具体时间的活动，例如课前2小时填 -120"))
    due_within_days = models.PositiveSmallIntegerField(
        _("完成期限(天)"), default=0, help_text=_("电话须在计划日后几天内完成"))
    window_end_days = models.SmallIntegerField(
        _("有效期至N+天数"), null=True, blank=True,
        help_text=_("任务在 N 加此天数当天结束后过期（未在期限内联系），离开工作清单；"
                    "空白：到下一步骤的前一天，最后一步到 N+7"))
    channel = models.CharField(_("方式"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("目的"), max_length=20, choices=Purpose.choices)
    sms_template_code = models.CharField(_("短信模板代码"), max_length=50, blank=True)
    sms_text = models.TextField(_("短信内容"), blank=True)
    script = models.TextField(_("话术"), blank=True)
    only_until_came_in = models.BooleanField(_("仅限未进厂/未同意"), default=False)
    asks_satisfaction = models.BooleanField(_("记录满意度"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("方案步骤")
        verbose_name_plural = _("方案步骤")
        ordering = ["programme", "order", "offset_days"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="step_code_per_programme"),
            models.CheckConstraint(
                condition=~Q(channel="sms") | ~Q(sms_template_code=""),
                name="step_sms_needs_template",
                violation_error_message=_("短信步骤须填写短信模板代码。")),
        ]

    def __str__(self):
        return f"{self.programme} N{self.offset_days:+d} {self.get_channel_display()}"

    def window_end(self, later_offsets):
        """The last day (from N) this step's task may be worked (rules.default_window_end
        when the step does not say); `later_offsets`: the offsets of the programme's
        other active steps."""
        from .rules import default_window_end

        if self.window_end_days is not None:
            return max(self.window_end_days, self.offset_days)
        return default_window_end(self.offset_days, later_offsets)


class SatisfactionQuestion(models.Model):
    """A question asked on a follow-up call of a programme."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT,
                                  related_name="questions", verbose_name=_("方案"))
    code = models.SlugField(_("代码"), max_length=40)
    text = models.CharField(_("问题"), max_length=200)
    department = models.CharField(_("责任部门"), max_length=20, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("满意度问题")
        verbose_name_plural = _("满意度问题")
        ordering = ["programme", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="question_code_per_programme"),
        ]

    def __str__(self):
        return self.text


class RefusalReason(models.Model):
    """Why a customer will not come or renew (moved away, serviced elsewhere ...): an
    editable list that feeds the reports."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    label = models.CharField(_("原因"), max_length=100)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("拒绝原因")
        verbose_name_plural = _("拒绝原因")
        ordering = ["order", "code"]

    def __str__(self):
        return self.label


class Outcome(models.Model):
    """A call outcome as the caller picks it. The `kind` decides what happens next:
    booked -> appointment; refused -> reason; unreachable -> retry; reached -> done."""

    class Kind(models.TextChoices):
        REACHED = "reached", _("已接通")
        BOOKED = "booked", _("接通并预约")
        REFUSED = "refused", _("接通但拒绝")
        UNREACHABLE = "unreachable", _("未接通")

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    label = models.CharField(_("结果"), max_length=100)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    hotkey = models.CharField(_("快捷键"), max_length=1, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("回访结果")
        verbose_name_plural = _("回访结果")
        ordering = ["order", "code"]

    def __str__(self):
        return self.label


class Campaign(models.Model):
    """A lapsed-customer recall campaign (流失客户召回) on date N with an offer. Its
    audience, vehicles with no visit for `lapsed_days`, is drawn into CampaignMember."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("计划中")
        DRAWN = "drawn", _("名单已抽取")
        CLOSED = "closed", _("已结束")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="campaigns",
                              verbose_name=_("门店"))
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT,
                                  related_name="campaigns", verbose_name=_("方案"))
    name = models.CharField(_("活动名称"), max_length=100)
    date = models.DateField(_("活动日期"), db_index=True)
    offer = models.TextField(_("活动优惠"), blank=True)
    lapsed_days = models.PositiveSmallIntegerField(_("未进厂天数"), default=180)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices,
                              default=Status.PLANNED)
    drawn_at = models.DateTimeField(_("抽取时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("创建人"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("召回活动")
        verbose_name_plural = _("召回活动")
        ordering = ["-date", "-id"]

    def __str__(self):
        return f"{self.name} {self.date}"


class CampaignMember(models.Model):
    """A vehicle in a recall campaign's audience (drawn set-based, once)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="+")
    last_visit_on = models.DateField(null=True, blank=True)
    came_in_on = models.DateField(_("回厂日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("召回名单")
        verbose_name_plural = _("召回名单")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "vehicle"], name="campaign_member_once"),
        ]

    def __str__(self):
        return f"{self.campaign} {self.vehicle_id}"


class CareClass(models.Model):
    """An event at a time with a capacity, an invitation list, replies and attendance: a
    car-care class (爱车养护课堂), or an owners' club activity (a drive, a club class, a
    festival event) whose invitations are the steps of the club activity programme."""

    class Kind(models.TextChoices):
        CARE_CLASS = "care_class", _("养护课堂")
        DRIVE = "drive", _("自驾活动")
        CLUB_CLASS = "club_class", _("俱乐部课堂")
        FESTIVAL = "festival", _("节日活动")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="care_classes",
                              verbose_name=_("门店"))
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT,
                                  related_name="care_classes", verbose_name=_("方案"))
    kind = models.CharField(_("活动类型"), max_length=20, choices=Kind.choices,
                            default=Kind.CARE_CLASS)
    title = models.CharField(_("主题"), max_length=100)
    starts_at = models.DateTimeField(_("开始时间"), db_index=True)
    location = models.CharField(_("地点"), max_length=100, blank=True)
    capacity = models.PositiveSmallIntegerField(_("名额"), default=20)
    description = models.TextField(_("内容"), blank=True)
    is_cancelled = models.BooleanField(_("已取消"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("养护课堂")
        verbose_name_plural = _("养护课堂")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="care_class_capacity_positive"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_club_activity(self):
        return self.kind != self.Kind.CARE_CLASS


class ClassInvitation(models.Model):
    """A customer invited to (or signed up for) an event: their reply (accepted is a
    sign-up), whether they attended, and their feedback afterwards."""

    class Reply(models.TextChoices):
        PENDING = "pending", _("待回复")
        ACCEPTED = "accepted", _("接受")
        DECLINED = "declined", _("谢绝")

    care_class = models.ForeignKey(CareClass, on_delete=models.CASCADE,
                                   related_name="invitations", verbose_name=_("课堂"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("客户"))
    reply = models.CharField(_("回复"), max_length=10, choices=Reply.choices,
                             default=Reply.PENDING)
    replied_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    attended = models.BooleanField(_("出席"), null=True, blank=True)
    feedback_rating = models.PositiveSmallIntegerField(
        _("活动评价"), null=True, blank=True, choices=[(n, str(n)) for n in range(5, 0, -1)])
    feedback = models.TextField(_("活动反馈"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("课堂邀请")
        verbose_name_plural = _("课堂邀请")
        ordering = ["care_class", "id"]
        constraints = [
            models.UniqueConstraint(fields=["care_class", "customer"], name="invitation_once"),
        ]

    def __str__(self):
        return f"{self.care_class} {self.customer_id}"


OPEN_STATUSES = ("planned", "retry")


class CancelReason(models.TextChoices):
    """Why an open task was cancelled (Task.cancel_reason), so reports tell them apart:
    its cycle closed (the car came in, the customer booked or refused on an earlier
    step), or something changed after planning that forbids the work."""

    CAME_IN = "came_in", _("车辆已进厂")
    BOOKED = "booked", _("客户已预约")
    REFUSED = "refused", _("客户已拒绝")
    NO_CALL_CONSENT = "no_call_consent", _("客户不再接受电话")
    ERASED = "erased", _("客户个人信息已删除")
    VEHICLE_RETIRED = "vehicle_retired", _("车辆已停用（转卖或报废）")
    OWNER_CHANGED = "owner_changed", _("车辆已过户")
    MERGED = "merged", _("重复客户已合并")
    NOT_IN_TIME = "not_in_time", _("未在期限内联系")
    RENEWED = "renewed", _("保险已续保")


class TaskQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def calls(self):
        return self.filter(channel=Channel.CALL)

    def worklist(self, day):
        """Open calls planned for `day` or earlier (overdue), within their window (a call
        past it leaves at once, before the night marks it expired)."""
        return self.calls().open().filter(planned_on__lte=day).exclude(expires_on__lt=day)


class Task(models.Model):
    """The task ledger: one row per (step, vehicle or customer, N). The unique
    constraints make each step of a cycle happen at most once, whoever plans it and
    however often. A machine table: status timestamps stand in for history."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("待处理")
        DONE = "done", _("已完成")
        RETRY = "retry", _("待重拨")
        CANCELLED = "cancelled", _("已取消")
        EXPIRED = "expired", _("已过期")

    # The ledger grows by tens of thousands of rows a night: each foreign key is read
    # through one of the composite or partial indexes below rather than an index of its
    # own, so an insert maintains as few indexes as possible.
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="followup_tasks",
                              db_index=False)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="tasks",
                                  db_index=False)
    programme_code = models.CharField(_("方案"), max_length=40)
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="tasks", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="followup_tasks", db_index=False)
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="followup_tasks", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="tasks", db_index=False)
    care_class = models.ForeignKey(CareClass, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="tasks", db_index=False)
    due_on = models.DateField(_("日期N"))
    offset_days = models.SmallIntegerField(_("距N天数"))
    planned_on = models.DateField(_("计划日期"))
    deadline_on = models.DateField(_("完成期限"), null=True, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    channel = models.CharField(_("方式"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices,
                              default=Status.PLANNED)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="followup_tasks",
                                 verbose_name=_("负责人"))
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, null=True, blank=True,
                                verbose_name=_("结果"), db_index=False)
    outcome_kind = models.CharField(_("结果类别"), max_length=20, choices=Outcome.Kind.choices,
                                    blank=True)
    reason = models.ForeignKey(RefusalReason, on_delete=models.PROTECT, null=True, blank=True,
                               verbose_name=_("原因"), db_index=False)
    notes = models.TextField(_("备注"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("拨打次数"), default=0)
    complaint = models.ForeignKey("complaints.Complaint", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="followup_tasks", db_index=False,
                                  verbose_name=_("投诉单"))
    cancel_reason = models.CharField(_("取消原因"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+", db_index=False)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("回访任务")
        verbose_name_plural = _("回访任务")
        ordering = ["planned_on", "due_on", "id"]
        permissions = [
            ("record_outcome", _("登记回访结果")),
            ("reassign_task", _("分派回访任务")),
            ("run_planner", _("运行提醒计划")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["step", "vehicle", "due_on"],
                                    condition=Q(vehicle__isnull=False),
                                    name="task_once_per_vehicle_cycle"),
            models.UniqueConstraint(fields=["step", "customer", "due_on"],
                                    condition=Q(vehicle__isnull=True),
                                    name="task_once_per_customer_cycle"),
        ]
        indexes = [
            # The worklist: a caller's open calls up to today in the page's order, so the
            # most urgent cards are read straight off the index however many are open.
            models.Index(fields=["assignee", "planned_on", "deadline_on", "due_on", "id"],
                         condition=Q(channel="call", status__in=["planned", "retry"]),
                         name="task_worklist_idx"),
            models.Index(fields=["store", "planned_on"], name="task_store_planned_idx"),
            # The nightly expiry: open tasks whose window has ended, by date range.
            models.Index(fields=["expires_on"], condition=Q(status__in=["planned", "retry"]),
                         name="task_open_expiry_idx"),
            # The planner's balancing: unassigned open calls, and open calls per caller.
            models.Index(fields=["store", "planned_on"],
                         condition=Q(assignee__isnull=True, channel="call",
                                     status__in=["planned", "retry"]),
                         name="task_unassigned_call_idx"),
            models.Index(fields=["store", "assignee"],
                         condition=Q(channel="call", status__in=["planned", "retry"]),
                         name="task_open_call_load_idx"),
            models.Index(fields=["vehicle", "programme", "due_on"], name="task_vehicle_cycle_idx"),
            models.Index(fields=["customer", "programme", "due_on"], name="task_customer_cycle_idx"),
            # Set only later or on few rows: partial, so the nightly inserts skip them.
            models.Index(fields=["done_by", "done_at"], condition=Q(done_by__isnull=False),
                         name="task_done_by_idx"),
            models.Index(fields=["campaign"], condition=Q(campaign__isnull=False),
                         name="task_campaign_idx"),
            models.Index(fields=["care_class"], condition=Q(care_class__isnull=False),
                         name="task_care_class_idx"),
            models.Index(fields=["outcome"], condition=Q(outcome__isnull=False),
                         name="task_outcome_idx"),
            models.Index(fields=["reason"], condition=Q(reason__isnull=False),
                         name="task_reason_idx"),
            models.Index(fields=["complaint"], condition=Q(complaint__isnull=False),
                         name="task_complaint_idx"),
        ]

    def __str__(self):
        return f"{self.programme_code} {self.due_on} {self.get_channel_display()}"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def cancel_reason_label(self):
        """The cancel reason as people read it (the stored code when it is not known)."""
        if self.cancel_reason in CancelReason.values:
            return CancelReason(self.cancel_reason).label
        return self.cancel_reason


class CallAttempt(models.Model):
    """One dial of a call task: who called, when, what came of it (the timeline and the
    caller's day report read these)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="call_attempts")
    number = models.PositiveSmallIntegerField(_("第几次"))
    caller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("回访员"))
    called_at = models.DateTimeField(_("拨打时间"), db_index=True)
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, verbose_name=_("结果"))
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("拨打记录")
        verbose_name_plural = _("拨打记录")
        ordering = ["task", "number"]
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="attempt_number_once"),
        ]

    def __str__(self):
        return f"{self.task_id} #{self.number}"


class Appointment(models.Model):
    """A visit the customer agreed to on a call (预约). Credited (came in, kept) when a
    service visit falls within the credit window of the booked date; not kept by the end
    of its day, it is marked no-show the next night (planner.appointments_mark_no_show),
    which starts the "missed appointment" programme's call; a visit arriving later within
    the credit window still credits it."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("已预约")
        CAME_IN = "came_in", _("已进厂")
        NO_SHOW = "no_show", _("未到店")
        CANCELLED = "cancelled", _("已取消")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="appointments",
                              verbose_name=_("门店"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="appointments", verbose_name=_("客户"))
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="appointments", verbose_name=_("车辆"))
    task = models.ForeignKey(Task, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="appointments", verbose_name=_("来源任务"))
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="appointments", verbose_name=_("方案"))
    due_on = models.DateField(_("日期N"), null=True, blank=True)
    booked_for = models.DateField(_("预约日期"), db_index=True)
    purpose = models.CharField(_("事项"), max_length=100)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices,
                              default=Status.BOOKED)
    visit_id = models.BigIntegerField(_("进厂记录"), null=True, blank=True)
    came_in_on = models.DateField(_("进厂日期"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["-booked_for", "-id"]
        indexes = [
            models.Index(fields=["vehicle", "status"], name="appointment_vehicle_idx"),
            # The nightly no-show mark: booked appointments by day, a range scan.
            models.Index(fields=["booked_for"], condition=Q(status="booked"),
                         name="appointment_booked_day_idx"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.booked_for} {self.purpose}"


class SatisfactionAnswer(models.Model):
    """One answer on a follow-up call: the rating of one question (very satisfied ...
    very dissatisfied) with a reason. The satisfaction reports read these rows."""

    class Rating(models.IntegerChoices):
        VERY_SATISFIED = 5, _("非常满意")
        SATISFIED = 4, _("满意")
        NEUTRAL = 3, _("一般")
        DISSATISFIED = 2, _("不满意")
        VERY_DISSATISFIED = 1, _("非常不满意")

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="answers")
    question = models.ForeignKey(SatisfactionQuestion, on_delete=models.PROTECT,
                                 related_name="answers", verbose_name=_("问题"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    programme_code = models.CharField(_("方案"), max_length=40)
    department = models.CharField(_("责任部门"), max_length=20, blank=True)
    rating = models.PositiveSmallIntegerField(_("评价"), choices=Rating.choices)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    answered_on = models.DateField(_("回访日期"), db_index=True)
    caller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("回访员"))

    class Meta:
        verbose_name = _("满意度结果")
        verbose_name_plural = _("满意度结果")
        ordering = ["-answered_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "question"], name="answer_once_per_question"),
        ]

    def __str__(self):
        return f"{self.question} {self.get_rating_display()}"

    @property
    def satisfied(self):
        return self.rating >= self.Rating.SATISFIED


# The lounge (吧台) ---------------------------------------------------------------------------

class LoungeVisitQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(departed_at__isnull=True)


class LoungeVisit(models.Model):
    """One visitor at the bar (来访登记): why they came, the customer (or the A-card
    prospect opened for them), arrival and departure, who served them and what they
    were offered. The customer's standing preferences live in LoungePreference."""

    class Purpose(models.TextChoices):
        WALK_IN = "walk_in", _("到店参观")
        SALES = "sales", _("销售看车")
        SERVICE = "service", _("维修保养等候")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="lounge_visits",
                              verbose_name=_("门店"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="lounge_visits", verbose_name=_("客户"))
    purpose = models.CharField(_("来访事由"), max_length=10, choices=Purpose.choices)
    arrived_at = models.DateTimeField(_("到店时间"))
    departed_at = models.DateTimeField(_("离店时间"), null=True, blank=True)
    served_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+",
                                  verbose_name=_("接待人"))
    drink = models.CharField(_("饮品"), max_length=50, blank=True)
    newspaper = models.CharField(_("报刊"), max_length=50, blank=True)
    interests = models.CharField(_("兴趣"), max_length=200, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("登记人"))
    history = HistoricalRecords()

    objects = LoungeVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("来访登记")
        verbose_name_plural = _("来访登记")
        ordering = ["-arrived_at", "-id"]
        indexes = [
            models.Index(fields=["store", "arrived_at"], name="lounge_visit_store_day_idx"),
            models.Index(fields=["store"], condition=Q(departed_at__isnull=True),
                         name="lounge_visit_waiting_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(departed_at__isnull=True) | Q(departed_at__gte=models.F("arrived_at")),
                name="lounge_visit_departs_after_arrival"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.arrived_at:%Y-%m-%d %H:%M}"


class LoungePreference(models.Model):
    """What a customer likes at the bar (drink, newspaper, interests), kept per customer
    so the next visit starts from it. Owned by the follow-ups floor, one row a customer."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT,
                                    primary_key=True, related_name="lounge_preference",
                                    verbose_name=_("客户"))
    drink = models.CharField(_("饮品"), max_length=50, blank=True)
    newspaper = models.CharField(_("报刊"), max_length=50, blank=True)
    interests = models.CharField(_("兴趣"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("更新人"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("客户偏好")
        verbose_name_plural = _("客户偏好")

    def __str__(self):
        return " / ".join(filter(None, [self.drink, self.newspaper, self.interests]))


# The owners' club (车友会) ---------------------------------------------------------------------

class ClubSettings(models.Model):
    """The club's tunable numbers, one row (pk 1) edited by the CR director."""

    return_visit_days = models.PositiveSmallIntegerField(
        _("回厂统计窗口(天)"), default=180,
        help_text=_("会员与非会员回厂率：统计截至当天的最近多少天内有无进厂"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("车友会设置")
        verbose_name_plural = _("车友会设置")

    def __str__(self):
        return str(_("车友会设置"))

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class ClubLevel(models.Model):
    """A membership level (普通会员, 银卡, 金卡 ...): an editable list."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    label = models.CharField(_("等级"), max_length=50)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("会员等级")
        verbose_name_plural = _("会员等级")
        ordering = ["order", "code"]

    def __str__(self):
        return self.label


class ClubMemberQuerySet(models.QuerySet):
    def active(self):
        return self.filter(left_on__isnull=True)


class ClubMember(models.Model):
    """A customer's membership of the owners' club (车友会): when they joined, at which
    level, how they came to it; leaving keeps the row (left_on), rejoining reopens it."""

    class Source(models.TextChoices):
        DELIVERY = "delivery", _("新车交车邀请")
        LOUNGE = "lounge", _("吧台推荐")
        ACTIVITY = "activity", _("参加活动")
        REFERRAL = "referral", _("会员推荐")
        OTHER = "other", _("其他")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="club_members",
                              verbose_name=_("门店"))
    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT,
                                    related_name="club_membership", verbose_name=_("客户"))
    level = models.ForeignKey(ClubLevel, on_delete=models.PROTECT, related_name="members",
                              verbose_name=_("等级"))
    source = models.CharField(_("入会来源"), max_length=10, choices=Source.choices)
    joined_on = models.DateField(_("入会日期"), db_index=True)
    left_on = models.DateField(_("退会日期"), null=True, blank=True)
    left_reason = models.CharField(_("退会原因"), max_length=200, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("登记人"))
    history = HistoricalRecords()

    objects = ClubMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("车友会会员")
        verbose_name_plural = _("车友会会员")
        ordering = ["-joined_on", "-id"]
        indexes = [models.Index(fields=["store", "joined_on"], name="club_member_store_joined_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("joined_on")),
                name="club_member_leaves_after_joining"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.level}"

    @property
    def is_active(self):
        return self.left_on is None

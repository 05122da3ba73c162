"""Site-wide records every app stands on: stores, staff, the business calendar, the
message outbox and staff notifications."""

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .roles import Role


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("星期一")
    TUESDAY = 1, _("星期二")
    WEDNESDAY = 2, _("星期三")
    THURSDAY = 3, _("星期四")
    FRIDAY = 4, _("星期五")
    SATURDAY = 5, _("星期六")
    SUNDAY = 6, _("星期日")


class DealerGroup(models.Model):
    """A dealer group (经销商集团) that runs one or more stores."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("经销商集团")
        verbose_name_plural = _("经销商集团")

    def __str__(self):
        return self.name


class Store(models.Model):
    """A dealership (4S店). Staff of one store see that store's rows only."""

    group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="stores",
                              verbose_name=_("经销商集团"))
    code = models.SlugField(_("门店代码"), max_length=30, unique=True)
    name = models.CharField(_("门店名称"), max_length=100)
    brand = models.CharField(_("品牌"), max_length=50, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    time_zone = models.CharField(_("时区"), max_length=50, default="Asia/Shanghai")
    sms_window_start = models.TimeField(_("短信发送开始时间"), default=datetime.time(9, 0))
    sms_window_end = models.TimeField(_("短信发送结束时间"), default=datetime.time(20, 0))
    sms_sign_name = models.CharField(_("短信签名"), max_length=30, blank=True)
    sms_app_id = models.CharField(_("短信应用编号"), max_length=30, blank=True,
                                  help_text=_("腾讯云 SmsSdkAppId；留空用全站设置。"))
    sms_extend_code = models.CharField(_("短信扩展码"), max_length=10, blank=True,
                                       help_text=_("客户回复短信时据此识别门店。"))
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("门店")
        verbose_name_plural = _("门店")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(sms_window_start__lt=models.F("sms_window_end")),
                                   name="store_sms_window_order"),
        ]

    def __str__(self):
        return self.name


class Activity(models.TextChoices):
    """What a store's calendar is for. Inspections follow the store's own hours unless
    the store sets hours for them; calls and the CR office's business-hours clock follow
    the days the call centre works."""

    STORE = "store", _("门店营业")
    INSPECTIONS = "inspections", _("日常检查")
    CALLS = "calls", _("客服回访")


class OpeningHours(models.Model):
    """The hours a store works on one weekday for one activity. No row for a weekday:
    closed that weekday (an activity without any row follows the store's hours).
    `on_holidays`: the hours hold on statutory holidays too (a 4S showroom is open on
    holidays; a call centre usually is not)."""

    Weekday = Weekday

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="opening_hours")
    activity = models.CharField(_("业务"), max_length=20, choices=Activity.choices,
                                default=Activity.STORE)
    weekday = models.PositiveSmallIntegerField(_("星期"), choices=Weekday.choices)
    opens = models.TimeField(_("开始"))
    closes = models.TimeField(_("结束"))
    on_holidays = models.BooleanField(_("法定节假日照常"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("营业时间")
        verbose_name_plural = _("营业时间")
        ordering = ["store", "activity", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["store", "activity", "weekday"],
                                    name="opening_hours_once_per_day"),
            models.CheckConstraint(condition=models.Q(opens__lt=models.F("closes")),
                                   name="opening_hours_order"),
        ]

    def __str__(self):
        return (f"{self.store} {self.get_activity_display()} {self.get_weekday_display()} "
                f"{self.opens:%H:%M}-{self.closes:%H:%M}")


class CalendarYear(models.Model):
    """A year of the national calendar entered by the group admin (holidays and make-up
    workdays from the State Council notice, as CalendarOverride rows without a store).
    Once a year is entered its days are the national calendar of that year; a year not
    entered falls back to the holiday library."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    entered_at = models.DateTimeField(_("录入时间"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("法定节假日年度")
        verbose_name_plural = _("法定节假日年度")
        ordering = ["-year"]
        permissions = [("manage_calendar_year", _("录入全年法定节假日"))]

    def __str__(self):
        return str(self.year)


class CalendarOverride(models.Model):
    """A day whose working status is set by hand.

    Without a store: a day of the national calendar (a holiday when not working, a
    make-up workday when working), entered with its CalendarYear or for a year the
    library does not know. With a store: that store's own closure or holiday opening,
    for one activity or (activity blank) all of them; it wins over everything."""

    date = models.DateField(_("日期"))
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="calendar_overrides", verbose_name=_("门店"))
    activity = models.CharField(_("业务"), max_length=20, choices=Activity.choices, blank=True)
    is_working = models.BooleanField(_("工作日"))
    name = models.CharField(_("说明"), max_length=100, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("日历调整")
        verbose_name_plural = _("日历调整")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["date", "store", "activity"], nulls_distinct=False,
                                    name="calendar_override_once"),
            models.CheckConstraint(condition=models.Q(store__isnull=False) | models.Q(activity=""),
                                   name="calendar_override_national_all_activities"),
        ]

    def __str__(self):
        return f"{self.date} {self.name}"


class User(AbstractUser):
    """A member of staff. Belongs to one or more stores; holds roles as groups."""

    stores = models.ManyToManyField(Store, related_name="staff", blank=True,
                                    verbose_name=_("门店"))
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    birthday = models.DateField(_("生日"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("员工")
        verbose_name_plural = _("员工")
        permissions = [
            ("manage_staff", _("管理本店员工")),
            ("reveal_personal_data", _("查看完整个人信息")),
        ]

    def __str__(self):
        return self.get_full_name() or self.username

    def get_full_name(self):
        # Chinese names read family name first, without a space.
        return f"{self.last_name}{self.first_name}".strip()

    @property
    def role_codes(self):
        """Role codes of this user; uses prefetched groups when present."""
        return {g.name for g in self.groups.all()} & set(Role.values)

    @property
    def role_labels(self):
        """Names of this user's roles in the user's language, for pages."""
        return [Role(code).label for code in sorted(self.role_codes)]

    def has_role(self, *roles):
        return self.is_superuser or bool(self.role_codes & set(roles))


class MessageQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(status=Message.Status.READY, not_before__lte=now).filter(
            models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now)
        )


class Message(models.Model):
    """One outbound SMS in the outbox. Written by the services that decide to send it,
    sent by the sender job through the configured backend. A machine table: its status
    timestamps stand in for history."""

    class Status(models.TextChoices):
        READY = "ready", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        EXPIRED = "expired", _("已过期")

    class Delivery(models.TextChoices):
        DELIVERED = "delivered", _("已送达")
        UNDELIVERED = "undelivered", _("未送达")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="messages")
    recipient = models.CharField(_("接收号码"), max_length=20)
    sign_name = models.CharField(_("短信签名"), max_length=30)
    template_code = models.CharField(_("模板代码"), max_length=50)
    params = models.JSONField(_("模板参数"), default=dict, blank=True)
    text = models.TextField(_("内容预览"), blank=True)
    purpose = models.CharField(_("用途"), max_length=50, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices,
                              default=Status.READY)
    not_before = models.DateTimeField(_("最早发送时间"))
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_error = models.TextField(_("失败原因"), blank=True)
    provider_id = models.CharField(_("服务商编号"), max_length=100, blank=True)
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True)  # noqa: DJ001
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # Rows are also written by set-based SQL that names only the older columns.
    provider = models.CharField(_("服务商"), max_length=20, blank=True, db_default="")
    delivery = models.CharField(_("送达状态"), max_length=12, choices=Delivery.choices,
                                blank=True, db_default="")
    delivered_at = models.DateTimeField(_("回执时间"), null=True, blank=True)
    delivery_error = models.CharField(_("回执说明"), max_length=200, blank=True, db_default="")

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("短信")
        verbose_name_plural = _("短信发件箱")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "not_before"], name="message_due_idx"),
            models.Index(fields=["content_type", "object_id"], name="message_subject_idx"),
            models.Index(fields=["provider", "provider_id"], name="message_provider_idx"),
        ]

    def __str__(self):
        return f"{self.recipient} {self.template_code} ({self.get_status_display()})"


class SmsTemplate(models.Model):
    """What one kind of message is called at the providers: the sign name (blank: the
    store's) and the template registered with Alibaba Cloud and with Tencent Cloud, and
    the order of the template's parameters (Tencent numbers them). `code` is the
    template code the services put on the outbox row; with no provider template filled
    in, `code` itself is sent."""

    code = models.CharField(_("模板代码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    sign_name = models.CharField(_("短信签名"), max_length=30, blank=True)
    aliyun_template_code = models.CharField(_("阿里云模板代码"), max_length=50, blank=True)
    tencent_template_id = models.CharField(_("腾讯云模板ID"), max_length=50, blank=True)
    param_names = models.JSONField(_("参数顺序"), default=list, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("短信模板")
        verbose_name_plural = _("短信模板")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class SmsReply(models.Model):
    """A customer's reply to one of our messages, as the provider passed it on (callback
    or polling). A reply of 退订 / TD / T withdraws the customer's SMS consent. A machine
    table; the same reply passed on twice is kept once."""

    provider = models.CharField(_("服务商"), max_length=20)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("门店"))
    mobile = models.CharField(_("手机"), max_length=20)
    text = models.CharField(_("内容"), max_length=500)
    received_at = models.DateTimeField(_("回复时间"))
    opt_out = models.BooleanField(_("退订"), default=False)
    customers_changed = models.PositiveIntegerField(_("已退订客户数"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("短信回复")
        verbose_name_plural = _("短信回复")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "mobile", "received_at", "text"],
                                    name="sms_reply_once"),
        ]

    def __str__(self):
        return f"{self.mobile} {self.text}"


class NoticeChannels(models.Model):
    """How a member of staff wants urgent notices besides the bell: by SMS to their
    mobile, through their store's 企业微信 or 钉钉 group robot of their role. Notices
    that are not urgent wait out the quiet hours (local time of the store)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notice_channels", verbose_name=_("员工"))
    sms = models.BooleanField(_("短信"), default=False)
    wecom = models.BooleanField(_("企业微信群机器人"), default=False)
    dingtalk = models.BooleanField(_("钉钉群机器人"), default=False)
    quiet_start = models.TimeField(_("免打扰开始"), null=True, blank=True)
    quiet_end = models.TimeField(_("免打扰结束"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("通知渠道")
        verbose_name_plural = _("通知渠道")

    def __str__(self):
        return str(self.user)


class RobotWebhook(models.Model):
    """A group robot of one store and role: 企业微信 (the webhook URL carries its key)
    or 钉钉 (webhook URL with access_token, and the signing secret of 加签)."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("企业微信群机器人")
        DINGTALK = "dingtalk", _("钉钉群机器人")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="robots",
                              verbose_name=_("门店"))
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    url = models.URLField(_("Webhook 地址"), max_length=500)
    secret = models.CharField(_("加签密钥"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        verbose_name = _("群机器人")
        verbose_name_plural = _("群机器人")
        constraints = [models.UniqueConstraint(fields=["store", "role", "kind"],
                                               name="robot_once_per_store_role_kind")]

    def __str__(self):
        return f"{self.store} {self.get_role_display()} {self.get_kind_display()}"


class RobotPost(models.Model):
    """One notice to post to a group robot: the robots' outbox, sent by the sender job
    like the SMS outbox (claimed, retried with back-off, failed once, never twice)."""

    webhook = models.ForeignKey(RobotWebhook, on_delete=models.CASCADE, related_name="posts")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Message.Status.choices,
                              default=Message.Status.READY)
    not_before = models.DateTimeField(_("最早发送时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_error = models.TextField(_("失败原因"), blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("机器人消息")
        verbose_name_plural = _("机器人消息")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "not_before"], name="robotpost_due_idx")]

    def __str__(self):
        return self.title


class PasswordResetCode(models.Model):
    """A code sent to a member of staff who forgot their password, by SMS to their
    registered mobile or by e-mail: single-use, short-lived, only its keyed hash kept. The
    rows are the log of every reset asked for and done."""

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        EMAIL = "email", _("电子邮件")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("员工"))
    channel = models.CharField(_("方式"), max_length=10, choices=Channel.choices)
    code_hash = models.CharField(max_length=64)
    requested_from = models.GenericIPAddressField(_("请求地址"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("密码重置")
        verbose_name_plural = _("密码重置")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="reset_user_idx")]

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app notice to one member of staff (the bell)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=150, null=True, blank=True)  # noqa: DJ001 - unique when set
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_once"),
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return self.title


# The beat schedules (django_celery_beat) are edited on a settings page: keep their history.
def _register_schedule_history():
    from django_celery_beat.models import PeriodicTask
    from simple_history import register

    register(PeriodicTask, app="crm_site", table_name="crm_site_historicalperiodictask")


_register_schedule_history()
class ImportJob(models.Model):
    """One uploaded file imported as a background job (crm_site.imports): checked first
    (dry run, nothing saved), then, on confirmation, saved all or nothing. The file is
    kept in the database so a worker on any machine can read it; its SHA-256 tells a
    file already imported."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        CHECKING = "checking", _("检查中")
        CHECKED = "checked", _("检查完成")
        REJECTED = "rejected", _("有错误")
        COMMITTING = "committing", _("导入中")
        COMMITTED = "committed", _("已导入")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("数据类型"), max_length=30)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="import_jobs",
                              verbose_name=_("门店"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="import_jobs", verbose_name=_("上传人"))
    file_name = models.CharField(_("文件名"), max_length=200)
    content = models.BinaryField(_("文件内容"))
    content_hash = models.CharField(_("文件指纹"), max_length=64, db_index=True)
    language = models.CharField(_("语言"), max_length=10, default="zh-hans")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices,
                              default=Status.QUEUED)
    dry_run = models.BooleanField(_("试导入"), default=True)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    counts = models.JSONField(_("计数"), default=dict, blank=True)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    checked_at = models.DateTimeField(_("检查时间"), null=True, blank=True)
    committed_at = models.DateTimeField(_("导入时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["store", "-created_at"], name="importjob_store_idx")]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def running(self):
        return self.status in (self.Status.QUEUED, self.Status.CHECKING, self.Status.COMMITTING)

    @property
    def percent(self):
        if not self.total_rows:
            return 0 if self.running else 100
        from .rules import percent

        return min(100, int(percent(self.processed_rows, self.total_rows, places=0)))

"""Satisfaction and improvement (DOMAIN.md section 7): the manufacturer's CSS/CSI reports,
mystery-shopper checks, targets, weak items, the analysis meeting and PDCA improvement
plans; and the team (section 9): training, incentive rules, the smile service star vote,
one-to-one talks and staff greetings. A period is a calendar month, stored as its first day."""

import chinese_calendar
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm_site.models import Store


class Survey(models.TextChoices):
    """Where a score comes from."""

    CSS = "css", _("CSS 销售满意度")
    CSI = "csi", _("CSI 售后满意度")
    MS = "ms", _("MS 神秘访客")


class Measure(models.TextChoices):
    """What a target is set for. Percentages are 0 to 100; points on the source's scale."""

    FOLLOWUP_RATE = "followup_rate", _("回访率（%）")
    SATISFIED_SHARE = "satisfied_share", _("满意率（%）")
    MS_SCORE = "ms_score", _("神秘访客得分")
    CSS_SCORE = "css_score", _("CSS 得分")
    CSI_SCORE = "csi_score", _("CSI 得分")
    CSS_RANK = "css_rank", _("CSS 区域排名")
    CSI_RANK = "csi_rank", _("CSI 区域排名")
    CSS_ITEM = "css_item", _("CSS 单项得分")
    CSI_ITEM = "csi_item", _("CSI 单项得分")
    MS_ITEM = "ms_item", _("神秘访客单项得分率（%）")
    COMPLAINT_RESPONSE = "complaint_response", _("投诉30分钟响应率（%）")
    COMPLAINT_RESOLUTION = "complaint_resolution", _("投诉24小时解决率（%）")
    INSPECTION_PASS = "inspection_pass", _("巡检合格率（%）")
    # Per person (the team scorecard).
    CALLS_MADE = "calls_made", _("拨打电话数")
    REACH_RATE = "reach_rate", _("接通率（%）")
    BOOKING_RATE = "booking_rate", _("预约率（%）")
    CAME_IN_RATE = "came_in_rate", _("预约进厂率（%）")
    COMPLAINT_SLA = "complaint_sla", _("投诉时限达成率（%）")
    RECTIFICATION_ON_TIME = "rectification_on_time", _("整改及时率（%）")


# Measures where a smaller number is better (a rank: 1 is first).
LOWER_IS_BETTER = {Measure.CSS_RANK, Measure.CSI_RANK}


class Department(models.TextChoices):
    SALES = "sales", _("销售")
    SERVICE = "service", _("售后")
    CR = "cr", _("客户关爱")


class SatisfactionPolicy(models.Model):
    """Tunable rules of the satisfaction work for one store, or for every store (no store):
    days from a manufacturer report to the analysis meeting, and how many of the lowest
    items count as weak even when they meet their target."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="satisfaction_policy", verbose_name=_("门店"))
    meeting_due_days = models.PositiveSmallIntegerField(_("分析会期限（天）"), default=3)
    bottom_n = models.PositiveSmallIntegerField(_("最低项数（视为薄弱项）"), default=3)
    talk_min_minutes = models.PositiveSmallIntegerField(_("一对一面谈最短时长（分钟）"), default=30)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("满意度规则")
        verbose_name_plural = _("满意度规则")
        constraints = [
            models.UniqueConstraint(fields=["store"], nulls_distinct=False,
                                    name="satisfaction_policy_once_per_store"),
        ]

    def __str__(self):
        return str(self.store or _("全部门店"))


class Target(models.Model):
    """A target for one measure. No store: every store; no period: every month. The most
    specific row wins (store and period, store, period, default). `value` is the plan
    (e.g. 950 points, 80 %, top 40), `threshold` the floor below which the figure is
    missed (e.g. MS 85); grades: the grade to secure and the one to strive for."""

    measure = models.CharField(_("指标"), max_length=30, choices=Measure.choices)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="satisfaction_targets", verbose_name=_("门店"))
    period = models.DateField(_("月份"), null=True, blank=True,
                              help_text=_("月份的第一天；留空表示每个月"))
    value = models.DecimalField(_("目标值"), max_digits=8, decimal_places=2)
    threshold = models.DecimalField(_("底线值"), max_digits=8, decimal_places=2,
                                    null=True, blank=True)
    secure_grade = models.CharField(_("确保等级"), max_length=5, blank=True)
    strive_grade = models.CharField(_("力争等级"), max_length=5, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        ordering = ["measure", "store", "period"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "store", "period"], nulls_distinct=False,
                                    name="target_once_per_scope"),
            models.CheckConstraint(condition=Q(period__isnull=True) | Q(period__day=1),
                                   name="target_period_first_of_month"),
        ]

    def __str__(self):
        return f"{self.get_measure_display()} {self.value}"


class ScoreImport(models.Model):
    """One manufacturer file uploaded by a manager: what was in it and what came of it.
    Written once per upload, valid or not, so a rejected file leaves its reasons."""

    class Status(models.TextChoices):
        IMPORTED = "imported", _("已导入")
        REJECTED = "rejected", _("已拒绝")

    file_name = models.CharField(_("文件名"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    stores = models.ManyToManyField(Store, related_name="+", blank=True, verbose_name=_("门店"))

    class Meta:
        verbose_name = _("厂家报告导入")
        verbose_name_plural = _("厂家报告导入")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"


class ManufacturerReport(models.Model):
    """The manufacturer's monthly CSS or CSI result for one store: total points, rank in
    the region and grade. Re-importing the same store, survey and month updates it."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="manufacturer_reports",
                              verbose_name=_("门店"))
    survey = models.CharField(_("调查"), max_length=5,
                              choices=[(Survey.CSS, Survey.CSS.label), (Survey.CSI, Survey.CSI.label)])
    period = models.DateField(_("月份"))
    total_score = models.DecimalField(_("总分"), max_digits=7, decimal_places=2)
    region_rank = models.PositiveIntegerField(_("区域排名"), null=True, blank=True)
    region_size = models.PositiveIntegerField(_("区域店数"), null=True, blank=True)
    grade = models.CharField(_("等级"), max_length=5, blank=True)
    score_import = models.ForeignKey(ScoreImport, on_delete=models.PROTECT, related_name="reports",
                                     verbose_name=_("导入批次"))
    imported_at = models.DateTimeField(_("导入时间"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("厂家满意度报告")
        verbose_name_plural = _("厂家满意度报告")
        permissions = [
            ("view_dashboard", _("查看经理看板")),
            ("view_group", _("查看集团对比")),
        ]
        ordering = ["-period", "store", "survey"]
        constraints = [
            models.UniqueConstraint(fields=["store", "survey", "period"], name="report_once_per_month"),
            models.CheckConstraint(condition=Q(period__day=1), name="report_period_first_of_month"),
        ]

    def __str__(self):
        return f"{self.store} {self.get_survey_display()} {self.period:%Y-%m}"


class ItemScore(models.Model):
    """The score of one item (question) in a manufacturer report."""

    report = models.ForeignKey(ManufacturerReport, on_delete=models.CASCADE, related_name="items",
                               verbose_name=_("报告"))
    code = models.CharField(_("项目代码"), max_length=30)
    name = models.CharField(_("项目"), max_length=200)
    score = models.DecimalField(_("得分"), max_digits=7, decimal_places=2)
    region_average = models.DecimalField(_("区域平均"), max_digits=7, decimal_places=2,
                                         null=True, blank=True)

    class Meta:
        verbose_name = _("单项得分")
        verbose_name_plural = _("单项得分")
        ordering = ["report", "code"]
        constraints = [
            models.UniqueConstraint(fields=["report", "code"], name="item_once_per_report"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}: {self.score}"


class MysteryShopItem(models.Model):
    """A standard item a mystery shopper scores (e.g. greeting within 30 seconds). No
    store: used by every store. Retired items stay for past checks."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("门店"))
    department = models.CharField(_("部门"), max_length=10, choices=Department.choices)
    code = models.CharField(_("代码"), max_length=30)
    name = models.CharField(_("项目"), max_length=200)
    max_points = models.PositiveSmallIntegerField(_("满分"), default=10)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("神秘访客检查项")
        verbose_name_plural = _("神秘访客检查项")
        ordering = ["department", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "department", "code"], nulls_distinct=False,
                                    name="ms_item_code_once"),
        ]

    def __str__(self):
        return self.name


class MysteryShopCheck(models.Model):
    """A mystery-shopper check of one member of staff: open (by a manager, the staff
    member knows) or covert (by the CR department). Its score is the points got over the
    points possible, in percent (0-100)."""

    class Kind(models.TextChoices):
        OPEN = "open", _("明检")
        COVERT = "covert", _("暗访")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="mystery_checks",
                              verbose_name=_("门店"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    department = models.CharField(_("部门"), max_length=10, choices=Department.choices)
    checked_on = models.DateField(_("检查日期"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="mystery_checks", verbose_name=_("被检员工"))
    checker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("检查人"))
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=2)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("神秘访客检查")
        verbose_name_plural = _("神秘访客检查")
        ordering = ["-checked_on", "-id"]
        indexes = [models.Index(fields=["store", "checked_on"], name="ms_check_store_day_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100),
                                   name="ms_check_score_range"),
        ]

    def __str__(self):
        return f"{self.staff} {self.checked_on} {self.score}"


class MysteryShopResult(models.Model):
    """Points one check gave one item."""

    ms_check = models.ForeignKey(MysteryShopCheck, on_delete=models.CASCADE, related_name="results",
                              verbose_name=_("检查"))
    item = models.ForeignKey(MysteryShopItem, on_delete=models.PROTECT, related_name="results",
                             verbose_name=_("检查项"))
    points = models.DecimalField(_("得分"), max_digits=5, decimal_places=2)
    max_points = models.DecimalField(_("满分"), max_digits=5, decimal_places=2)
    remark = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("神秘访客单项结果")
        verbose_name_plural = _("神秘访客单项结果")
        constraints = [
            models.UniqueConstraint(fields=["ms_check", "item"], name="ms_result_once"),
            models.CheckConstraint(condition=Q(points__gte=0) & Q(points__lte=models.F("max_points")),
                                   name="ms_result_points_range"),
        ]

    def __str__(self):
        return f"{self.item}: {self.points}/{self.max_points}"


class WeakItem(models.Model):
    """An item found weak in a month: below its target, or among the lowest items.
    Found automatically after each import; one row per store, survey, month and item."""

    class Reason(models.TextChoices):
        BELOW_TARGET = "below_target", _("低于目标")
        BOTTOM = "bottom", _("排名靠后")
        BOTH = "both", _("低于目标且排名靠后")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="weak_items",
                              verbose_name=_("门店"))
    survey = models.CharField(_("调查"), max_length=5, choices=Survey.choices)
    period = models.DateField(_("月份"))
    code = models.CharField(_("项目代码"), max_length=30)
    name = models.CharField(_("项目"), max_length=200)
    score = models.DecimalField(_("得分"), max_digits=7, decimal_places=2)
    target = models.DecimalField(_("目标"), max_digits=7, decimal_places=2, null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=15, choices=Reason.choices)
    report = models.ForeignKey(ManufacturerReport, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="weak_items", verbose_name=_("报告"))
    detected_at = models.DateTimeField(_("发现时间"))

    class Meta:
        verbose_name = _("薄弱项")
        verbose_name_plural = _("薄弱项")
        ordering = ["-period", "survey", "score"]
        constraints = [
            models.UniqueConstraint(fields=["store", "survey", "period", "code"],
                                    name="weak_item_once_per_month"),
        ]

    def __str__(self):
        return f"{self.get_survey_display()} {self.period:%Y-%m} {self.name}"


class AnalysisMeeting(models.Model):
    """The satisfaction-analysis meeting the CR manager holds after a manufacturer report
    (due within a few days, editable), with the weak items on its agenda, minutes and
    decisions."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("待召开")
        HELD = "held", _("已召开")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="analysis_meetings",
                              verbose_name=_("门店"))
    report = models.OneToOneField(ManufacturerReport, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="meeting", verbose_name=_("报告"))
    period = models.DateField(_("月份"))
    due_on = models.DateField(_("召开期限"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices,
                              default=Status.SCHEDULED)
    agenda = models.ManyToManyField(WeakItem, related_name="meetings", blank=True,
                                    verbose_name=_("议题（薄弱项）"))
    held_at = models.DateTimeField(_("召开时间"), null=True, blank=True)
    chair = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", verbose_name=_("主持人"))
    attendees = models.CharField(_("参会人员"), max_length=300, blank=True)
    minutes = models.TextField(_("会议纪要"), blank=True)
    decisions = models.TextField(_("决议"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("满意度分析会")
        verbose_name_plural = _("满意度分析会")
        ordering = ["-due_on", "-id"]

    def __str__(self):
        return f"{self.store} {self.period:%Y-%m} {self.get_status_display()}"


class ImprovementPlan(models.Model):
    """A PDCA improvement plan in 8 steps, addressing a weak item (or a complaint category
    or inspection area). It closes only when the item recovers in a later month, or when
    a manager closes it with a reason."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        APPROVED = "approved", _("已批准")
        IN_PROGRESS = "in_progress", _("实施中")
        CLOSED = "closed", _("已关闭")

    class Step(models.IntegerChoices):
        PROBLEM = 1, _("1 明确问题")
        BREAKDOWN = 2, _("2 分解问题")
        TARGET = 3, _("3 设定目标")
        ROOT_CAUSE = 4, _("4 分析根因（5个为什么）")
        COUNTERMEASURES = 5, _("5 制定对策")
        IMPLEMENTATION = 6, _("6 实施对策")
        EVALUATION = 7, _("7 评价效果")
        STANDARDISATION = 8, _("8 标准化")

    class ClosedHow(models.TextChoices):
        RECOVERED = "recovered", _("项目已恢复")
        MANAGER = "manager", _("主管关闭")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="improvement_plans",
                              verbose_name=_("门店"))
    title = models.CharField(_("标题"), max_length=200)
    weak_item = models.ForeignKey(WeakItem, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="plans", verbose_name=_("薄弱项"))
    complaint_category = models.CharField(_("投诉类别"), max_length=30, blank=True)
    inspection_area = models.CharField(_("巡检区域"), max_length=50, blank=True)
    department = models.CharField(_("部门"), max_length=10, choices=Department.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="improvement_plans", verbose_name=_("负责人"))
    status = models.CharField(_("状态"), max_length=15, choices=Status.choices, default=Status.DRAFT)
    step = models.PositiveSmallIntegerField(_("当前步骤"), choices=Step.choices, default=Step.PROBLEM)
    problem = models.TextField(_("问题描述"), blank=True)
    breakdown = models.TextField(_("问题分解"), blank=True)
    target_text = models.TextField(_("改善目标"), blank=True)
    target_score = models.DecimalField(_("目标分"), max_digits=7, decimal_places=2, null=True,
                                       blank=True)
    whys = models.JSONField(_("5个为什么"), default=list, blank=True)
    root_cause = models.TextField(_("根本原因"), blank=True)
    implementation = models.TextField(_("实施记录"), blank=True)
    evaluation = models.TextField(_("效果评价"), blank=True)
    standardisation = models.TextField(_("标准化"), blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("批准人"))
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    last_checked_period = models.DateField(_("最近核对月份"), null=True, blank=True)
    last_checked_score = models.DecimalField(_("最近核对得分"), max_digits=7, decimal_places=2,
                                             null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+", verbose_name=_("关闭人"))
    closed_how = models.CharField(_("关闭方式"), max_length=10, choices=ClosedHow.choices, blank=True)
    close_reason = models.TextField(_("关闭原因"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("改善计划")
        verbose_name_plural = _("改善计划")
        ordering = ["status", "-created_at", "-id"]
        permissions = [
            ("approve_improvementplan", _("批准改善计划")),
            ("close_improvementplan", _("关闭改善计划")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="closed", closed_at__isnull=False) & ~Q(closed_how=""))
                | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="plan_closed_consistent"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self):
        return self.status != self.Status.CLOSED


class Countermeasure(models.Model):
    """One countermeasure of an improvement plan, with its owner and date."""

    plan = models.ForeignKey(ImprovementPlan, on_delete=models.CASCADE, related_name="countermeasures",
                             verbose_name=_("改善计划"))
    action = models.CharField(_("对策"), max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("负责人"))
    due_on = models.DateField(_("完成期限"))
    done_on = models.DateField(_("完成日期"), null=True, blank=True)
    result = models.CharField(_("实施结果"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("对策")
        verbose_name_plural = _("对策")
        ordering = ["due_on", "id"]

    def __str__(self):
        return self.action


class SurveyComplaint(models.Model):
    """The closed loop: a follow-up call whose survey had a "dissatisfied" or worse
    answer, and the complaint it opened (or the complaint the call had already raised).
    One row per call, so the complaint is opened exactly once however often the call's
    outcome is saved. A machine table: the ids point into the follow-up and complaint
    floors."""

    task_id = models.BigIntegerField(_("回访任务"), unique=True)
    complaint_id = models.BigIntegerField(_("投诉单"), null=True, blank=True)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("门店"))
    opened = models.BooleanField(_("由满意度自动开单"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("不满意自动投诉")
        verbose_name_plural = _("不满意自动投诉")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.task_id} -> {self.complaint_id}"


class MonthlyFigure(models.Model):
    """A figure of a floor below (follow-ups, complaints, inspections) for one store and
    month, computed by the refresh job so dashboards over a large dealer group read one
    small table. `computed_at` is shown next to the figure. A machine table."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("门店"))
    period = models.DateField(_("月份"))
    measure = models.CharField(_("指标"), max_length=30, choices=Measure.choices)
    numerator = models.IntegerField(_("分子"), null=True, blank=True)
    denominator = models.IntegerField(_("分母"), null=True, blank=True)
    value = models.DecimalField(_("数值"), max_digits=10, decimal_places=2, null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("月度指标汇总")
        verbose_name_plural = _("月度指标汇总")
        ordering = ["-period", "store", "measure"]
        constraints = [
            models.UniqueConstraint(fields=["store", "period", "measure"], name="monthly_figure_once"),
        ]

    def __str__(self):
        return f"{self.store_id} {self.period:%Y-%m} {self.measure} {self.value}"


class MonthlySnapshot(models.Model):
    """The plain counts behind a dashboard panel (complaints, inspections) for one store
    and month, stored by the refresh job beside the monthly figures. A machine table."""

    class Source(models.TextChoices):
        COMPLAINTS = "complaints", _("投诉")
        INSPECTIONS = "inspections", _("巡检")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("门店"))
    period = models.DateField(_("月份"))
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    data = models.JSONField(_("数据"), default=dict)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("月度面板快照")
        verbose_name_plural = _("月度面板快照")
        constraints = [
            models.UniqueConstraint(fields=["store", "period", "source"], name="monthly_snapshot_once"),
        ]

    def __str__(self):
        return f"{self.store_id} {self.period:%Y-%m} {self.source}"



# The team (DOMAIN.md section 9) ---------------------------------------------------------

class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")


class TrainingPlan(models.Model):
    """A training the team has at least once per week or month (brand-standard study
    weekly; etiquette and process training monthly). No store: every store. A manager
    changes the frequency; a plan whose week or month passed without a session is
    overdue."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("门店"))
    code = models.SlugField(_("代码"), max_length=30)
    name = models.CharField(_("培训"), max_length=100)
    frequency = models.CharField(_("频次"), max_length=10, choices=Frequency.choices)
    with_assessment = models.BooleanField(_("须考核"), default=True)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("培训计划")
        verbose_name_plural = _("培训计划")
        ordering = ["frequency", "code"]
        permissions = [
            ("view_team", _("查看团队")),
            ("manage_team", _("管理团队（全部考核、培训、面谈）")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], nulls_distinct=False,
                                    name="training_plan_code_once"),
        ]

    def __str__(self):
        return f"{self.name}（{self.get_frequency_display()}）"


class TrainingSession(models.Model):
    """One training held in a store under a plan, with who attended and their
    assessment scores."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="training_sessions",
                              verbose_name=_("门店"))
    plan = models.ForeignKey(TrainingPlan, on_delete=models.PROTECT, related_name="sessions",
                             verbose_name=_("培训计划"))
    held_on = models.DateField(_("培训日期"))
    topic = models.CharField(_("主题"), max_length=200)
    trainer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("讲师"))
    minutes = models.PositiveSmallIntegerField(_("时长（分钟）"))
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("培训记录")
        verbose_name_plural = _("培训记录")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["store", "held_on"], name="training_store_day_idx")]

    def __str__(self):
        return f"{self.held_on} {self.topic}"


class TrainingAttendance(models.Model):
    """One member of staff at one session: present or not, and the assessment score
    (0-100) when the session had one."""

    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="attendance",
                                verbose_name=_("培训记录"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="training_attendance", verbose_name=_("员工"))
    attended = models.BooleanField(_("出勤"), default=True)
    score = models.DecimalField(_("考核得分"), max_digits=5, decimal_places=2, null=True, blank=True)
    remark = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("培训出勤与考核")
        verbose_name_plural = _("培训出勤与考核")
        ordering = ["session", "staff_id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "staff"], name="training_attendance_once"),
            models.CheckConstraint(condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                                   name="training_score_range"),
        ]

    def __str__(self):
        return f"{self.session_id} {self.staff_id} {self.score}"


class IncentiveRule(models.Model):
    """An incentive a store pays or charges (no store: the default of every store):
    a reward per mystery-shopper check scoring at least the threshold, a penalty per
    check scoring below it, a penalty per display car not fixed in time (the deadline
    is the inspections' own, 10 minutes by default). Amounts in yuan."""

    class Kind(models.TextChoices):
        MS_REWARD = "ms_reward", _("神秘访客奖励（得分不低于）")
        MS_PENALTY = "ms_penalty", _("神秘访客处罚（得分低于）")
        DISPLAY_CAR_PENALTY = "display_car_penalty", _("展车超时未整改处罚")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("门店"))
    kind = models.CharField(_("类型"), max_length=30, choices=Kind.choices)
    threshold = models.DecimalField(_("分数线"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(_("金额（元）"), max_digits=8, decimal_places=2)
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("奖惩规则")
        verbose_name_plural = _("奖惩规则")
        ordering = ["kind", "store_id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "kind"], nulls_distinct=False,
                                    name="incentive_rule_once"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="incentive_amount_positive"),
            models.CheckConstraint(condition=Q(kind="display_car_penalty") | Q(threshold__isnull=False),
                                   name="incentive_ms_threshold"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"


class SmileVote(models.Model):
    """One vote for the month's "smile service star" (微笑服务之星): each member of a
    store's staff votes once a month, not for themselves."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("门店"))
    period = models.DateField(_("月份"))
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("投票人"))
    nominee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="smile_votes", verbose_name=_("候选人"))
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("投票时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("微笑服务之星投票")
        verbose_name_plural = _("微笑服务之星投票")
        ordering = ["-period", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "period", "voter"], name="smile_vote_once"),
            models.CheckConstraint(condition=~Q(voter=F("nominee")), name="smile_vote_not_self"),
            models.CheckConstraint(condition=Q(period__day=1), name="smile_vote_period_first"),
        ]

    def __str__(self):
        return f"{self.period:%Y-%m} {self.voter_id} -> {self.nominee_id}"


class OneToOneTalk(models.Model):
    """A one-to-one talk of a manager with a team member (at least 30 minutes a month
    with everyone, per the store's satisfaction policy)."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("门店"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="one_to_one_talks", verbose_name=_("员工"))
    held_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("面谈人"))
    held_on = models.DateField(_("面谈日期"))
    minutes = models.PositiveSmallIntegerField(_("时长（分钟）"))
    notes = models.TextField(_("面谈记录"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("一对一面谈")
        verbose_name_plural = _("一对一面谈")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["store", "held_on"], name="talk_store_day_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1), name="talk_minutes_positive"),
        ]

    def __str__(self):
        return f"{self.held_on} {self.staff_id} {self.minutes}"


FESTIVALS = [(h.name, h.value) for h in chinese_calendar.Holiday
             if h.name != "anti_fascist_70th_day"]


class StaffGreeting(models.Model):
    """A greeting SMS to staff: on each one's birthday, on a date every year, or on the
    first day of a statutory festival (from the statutory calendar). No store: every
    store. `text` is the preview with {name} for the person's name."""

    class Occasion(models.TextChoices):
        BIRTHDAY = "birthday", _("员工生日")
        DATE = "date", _("每年固定日期")
        FESTIVAL = "festival", _("法定节日")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("门店"))
    name = models.CharField(_("名称"), max_length=50)
    occasion = models.CharField(_("场合"), max_length=10, choices=Occasion.choices)
    month = models.PositiveSmallIntegerField(_("月"), null=True, blank=True)
    day = models.PositiveSmallIntegerField(_("日"), null=True, blank=True)
    festival = models.CharField(_("节日"), max_length=30, choices=FESTIVALS, blank=True)
    template_code = models.CharField(_("短信模板代码"), max_length=50)
    text = models.CharField(_("短信内容预览"), max_length=300)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("员工关怀短信")
        verbose_name_plural = _("员工关怀短信")
        ordering = ["occasion", "month", "day", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(occasion="birthday")
                | Q(occasion="date", month__gte=1, month__lte=12, day__gte=1, day__lte=31)
                | (Q(occasion="festival") & ~Q(festival="")),
                name="staff_greeting_when"),
        ]

    def __str__(self):
        return self.name


BAND_FIELDS = ("kind", "label", "lower", "upper", "order", "is_active")


class CustomerBand(models.Model):
    """A band the customer analysis groups customers into: an age band (years, at the end
    of the period), a mileage band (km at the visit) or a loyalty tier (visits to the
    store). `lower` and `upper` are both included; no upper: and above. Bands of a kind
    are tried in order and the first that fits wins; a manager edits them, retired
    bands stay for the record."""

    class Kind(models.TextChoices):
        AGE = "age", _("年龄段")
        MILEAGE = "mileage", _("里程段")
        LOYALTY = "loyalty", _("忠诚度等级")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    label = models.CharField(_("名称"), max_length=50)
    lower = models.PositiveIntegerField(_("下限（含）"), default=0)
    upper = models.PositiveIntegerField(_("上限（含）"), null=True, blank=True,
                                        help_text=_("留空表示不设上限"))
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("客户分析分段")
        verbose_name_plural = _("客户分析分段")
        ordering = ["kind", "order", "lower", "id"]
        permissions = [("view_customer_analysis", _("查看客户分析"))]
        constraints = [
            models.CheckConstraint(condition=Q(upper__isnull=True) | Q(upper__gte=models.F("lower")),
                                   name="customer_band_upper_not_below_lower",
                                   violation_error_message=_("上限不能小于下限。")),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.label}"


class CustomerAnalysisSnapshot(models.Model):
    """The customer analysis of one store and period (a month 2026-05, a quarter 2026-Q2
    or a year 2026) as the refresh job computed it, so the page over a large customer base
    reads one row; `computed_at` is shown on the page. A machine table."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("门店"))
    period = models.CharField(_("期间"), max_length=10)
    day = models.DateField(_("计算基准日"))
    data = models.JSONField(_("数据"), default=dict)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("客户分析快照")
        verbose_name_plural = _("客户分析快照")
        constraints = [
            models.UniqueConstraint(fields=["store", "period"], name="customer_analysis_snapshot_once"),
        ]

    def __str__(self):
        return f"{self.store_id} {self.period}"

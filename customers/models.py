"""Customer records (客户档案): customers and their families, vehicles and who owned them,
sales, service visits, insurance policies, the service-interval rules, correction
requests, merges of duplicates and the log of revealed personal data.

Each vehicle carries its next due dates as indexed columns (first service, periodic
service, insurance expiry, annual inspection, last visit); the services that record a
sale, a visit or a policy keep them up to date and the reminder engine reads only them.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm_site.crypto import EncryptedTextField, UnreadableValue, keyed_hash
from crm_site.models import Store


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def with_id_number(self, id_number):
        """Customers with this resident ID number, found by its keyed hash (the number
        itself is stored encrypted and cannot be compared in the database)."""
        return self.filter(id_number_hash=keyed_hash(id_number)) if id_number else self.none()

    def for_stores(self, stores):
        return self.filter(store__in=stores)


class Customer(models.Model):
    """A private person or a company (fleet, agency) the store sells to or services.

    A customer belongs to one store and may have an owner (the CR specialist responsible
    for it). `mobile` holds the canonical 11-digit mainland number. A customer merged into
    another is kept, inactive, with `merged_into` pointing at the kept record.
    """

    class Kind(models.TextChoices):
        PRIVATE = "private", _("个人")
        COMPANY = "company", _("单位")

    class Gender(models.TextChoices):
        UNKNOWN = "", _("未填写")
        MALE = "male", _("男")
        FEMALE = "female", _("女")

    class MaritalStatus(models.TextChoices):
        UNKNOWN = "", _("未填写")
        SINGLE = "single", _("未婚")
        MARRIED = "married", _("已婚")
        DIVORCED = "divorced", _("离异")
        WIDOWED = "widowed", _("丧偶")

    class Education(models.TextChoices):
        UNKNOWN = "", _("未填写")
        SECONDARY = "secondary", _("高中及以下")
        COLLEGE = "college", _("大专")
        BACHELOR = "bachelor", _("本科")
        MASTER = "master", _("硕士")
        DOCTOR = "doctor", _("博士")

    class IncomeBand(models.TextChoices):
        UNKNOWN = "", _("未填写")
        BELOW_5K = "lt5k", _("月收入5千以下")
        FROM_5K = "5k-10k", _("月收入5千至1万")
        FROM_10K = "10k-20k", _("月收入1万至2万")
        FROM_20K = "20k-50k", _("月收入2万至5万")
        ABOVE_50K = "gt50k", _("月收入5万以上")

    class CompanySize(models.TextChoices):
        UNKNOWN = "", _("未填写")
        SMALL = "small", _("50人以下")
        MEDIUM = "medium", _("50至500人")
        LARGE = "large", _("500人以上")

    class Card(models.TextChoices):
        A = "a", _("A卡（潜在客户）")
        C = "c", _("C卡（已交车客户）")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="customers",
                              verbose_name=_("门店"))
    kind = models.CharField(_("客户类型"), max_length=10, choices=Kind.choices,
                            default=Kind.PRIVATE)
    card = models.CharField(_("卡片"), max_length=1, choices=Card.choices, default=Card.C)
    name = models.CharField(_("姓名/名称"), max_length=100, db_index=True)
    mobile = models.CharField(_("手机"), max_length=11, blank=True, db_index=True)
    landline = models.CharField(_("固定电话"), max_length=30, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    source = models.CharField(_("来源渠道"), max_length=50, blank=True)
    region = models.CharField(_("区域"), max_length=50, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="owned_customers",
                              verbose_name=_("负责专员"))

    # Private person
    gender = models.CharField(_("性别"), max_length=10, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    marital_status = models.CharField(_("婚姻状况"), max_length=10,
                                      choices=MaritalStatus.choices, blank=True)
    home_address = models.CharField(_("家庭住址"), max_length=200, blank=True)
    # Encrypted at rest; looked up, de-duplicated and upserted by id_number_hash.
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    id_number_hash = models.CharField(_("身份证号哈希"), max_length=64, blank=True, db_index=True,
                                      editable=False)
    employer = models.CharField(_("工作单位"), max_length=100, blank=True)
    employer_address = models.CharField(_("单位地址"), max_length=200, blank=True)
    occupation = models.CharField(_("职业"), max_length=50, blank=True)
    job_title = models.CharField(_("职务"), max_length=50, blank=True)
    education = models.CharField(_("学历"), max_length=10, choices=Education.choices,
                                 blank=True)
    income_band = models.CharField(_("收入水平"), max_length=10, choices=IncomeBand.choices,
                                   blank=True)
    hobbies = models.CharField(_("兴趣爱好"), max_length=200, blank=True)
    character_notes = models.TextField(_("性格特点"), blank=True)

    # Company
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True,
                                   db_index=True)
    industry = models.CharField(_("行业"), max_length=50, blank=True)
    company_address = models.CharField(_("单位地址"), max_length=200, blank=True)
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    company_size = models.CharField(_("规模"), max_length=10, choices=CompanySize.choices,
                                    blank=True)
    main_business = models.CharField(_("主营业务"), max_length=200, blank=True)
    website = models.URLField(_("网址"), blank=True)
    person_in_charge = models.CharField(_("负责人"), max_length=50, blank=True)
    contact_person = models.CharField(_("联系人"), max_length=50, blank=True)

    # Contact preferences and consent per channel
    sms_allowed = models.BooleanField(_("接受短信"), default=True)
    call_allowed = models.BooleanField(_("接受电话"), default=True)
    contact_refusal_reason = models.CharField(_("拒绝联系原因"), max_length=200, blank=True)
    consent_updated_at = models.DateTimeField(_("联系偏好更新时间"), null=True, blank=True)
    erased_at = models.DateTimeField(_("个人信息删除时间"), null=True, blank=True)

    note = models.TextField(_("备注"), blank=True)
    is_active = models.BooleanField(_("有效"), default=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_customers",
                                    verbose_name=_("已合并到"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords()

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["-id"]
        permissions = [
            ("merge_customer", _("合并重复客户")),
            ("import_customers", _("导入客户数据")),
            ("export_customers", _("导出客户列表")),
            ("record_consent", _("记录客户联系偏好")),
        ]
        indexes = [
            models.Index(fields=["store", "is_active", "-id"], name="customer_store_list_idx"),
            # The nightly birthday greetings: a store's customers born on a month and day.
            models.Index(F("store"), ExtractMonth("birth_date"), ExtractDay("birth_date"),
                         condition=Q(birth_date__isnull=False), name="customer_store_birthday_idx"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not isinstance(self.id_number, UnreadableValue):  # else it is written back as it was
            self.id_number_hash = keyed_hash(self.id_number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "id_number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "id_number_hash"}
        super().save(*args, **kwargs)

    @property
    def is_company(self):
        return self.kind == self.Kind.COMPANY


class FamilyMember(models.Model):
    """A member of a private customer's family (relation, name, birthday, phone), for
    birthday care and to know who drives the car."""

    class Relation(models.TextChoices):
        SPOUSE = "spouse", _("配偶")
        CHILD = "child", _("子女")
        PARENT = "parent", _("父母")
        SIBLING = "sibling", _("兄弟姐妹")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="family",
                                 verbose_name=_("客户"))
    relation = models.CharField(_("关系"), max_length=10, choices=Relation.choices)
    name = models.CharField(_("姓名"), max_length=50)
    birthday = models.DateField(_("生日"), null=True, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.get_relation_display()})"


class VehicleQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Vehicle(models.Model):
    """A car, identified by its VIN, owned now by `customer`. Its due dates are kept by
    the services: first service (from delivery by the brand rule), next periodic service
    (from the last visit), insurance expiry (from the latest policy), annual inspection
    and the last visit. Sold on or scrapped: is_active False; ownership history in
    VehicleOwnership."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="vehicles",
                              verbose_name=_("门店"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="vehicles",
                                 verbose_name=_("车主"))
    vin = models.CharField(_("车架号(VIN)"), max_length=17, unique=True)
    plate = models.CharField(_("车牌号"), max_length=8, blank=True, db_index=True)
    engine_no = models.CharField(_("发动机号"), max_length=30, blank=True)
    model_name = models.CharField(_("车型"), max_length=100, blank=True)
    trim_code = models.CharField(_("配置代码(SFX)"), max_length=30, blank=True)
    colour = models.CharField(_("颜色"), max_length=30, blank=True)
    mileage = models.PositiveIntegerField(_("最近里程(公里)"), null=True, blank=True)
    delivered_on = models.DateField(_("交车日期"), null=True, blank=True, db_index=True)
    first_service_due_on = models.DateField(_("首保到期日"), null=True, blank=True,
                                            db_index=True)
    first_service_done_on = models.DateField(_("首保完成日"), null=True, blank=True)
    next_service_due_on = models.DateField(_("下次保养日"), null=True, blank=True,
                                           db_index=True)
    insurance_expires_on = models.DateField(_("保险到期日"), null=True, blank=True,
                                            db_index=True)
    annual_inspection_on = models.DateField(_("年检日期"), null=True, blank=True,
                                            db_index=True)
    last_visit_on = models.DateField(_("最近进厂日"), null=True, blank=True, db_index=True)
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords()

    objects = VehicleQuerySet.as_manager()

    class Meta:
        verbose_name = _("车辆")
        verbose_name_plural = _("车辆")
        ordering = ["-id"]
        # A store's due lists (reminder programmes, the customer list's filters) are range
        # scans on these.
        indexes = [
            models.Index(fields=["store", "first_service_due_on"], name="vehicle_store_first_due_idx"),
            models.Index(fields=["store", "next_service_due_on"], name="vehicle_store_next_due_idx"),
            models.Index(fields=["store", "insurance_expires_on"], name="vehicle_store_insurance_idx"),
            models.Index(fields=["store", "last_visit_on"], name="vehicle_store_last_visit_idx"),
        ]

    def __str__(self):
        return self.plate or self.vin


class VehicleOwnership(models.Model):
    """Who owned a vehicle from when to when. The open row (ended_on empty) is the current
    owner; a car sold on keeps its earlier owners here."""

    class Reason(models.TextChoices):
        REGISTERED = "registered", _("建档")
        SALE = "sale", _("新车销售")
        TRANSFER = "transfer", _("过户")
        MERGE = "merge", _("客户合并")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="ownerships",
                                verbose_name=_("车辆"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ownerships",
                                 verbose_name=_("车主"))
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices,
                              default=Reason.REGISTERED)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("车辆归属")
        verbose_name_plural = _("车辆归属")
        ordering = ["vehicle", "started_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vehicle"], condition=Q(ended_on__isnull=True),
                                    name="ownership_one_current_owner"),
        ]

    def __str__(self):
        return f"{self.vehicle} - {self.customer}"


class ServiceRule(models.Model):
    """The service-interval rule of a brand (blank brand: the default for every brand
    without its own row). First service is due `first_service_months` after delivery;
    the periodic service `service_interval_months` after a visit that names no next date."""

    brand = models.CharField(_("品牌"), max_length=50, blank=True, unique=True,
                             help_text=_("留空表示默认规则"))
    first_service_months = models.PositiveSmallIntegerField(_("首保月数"), default=3)
    first_service_km = models.PositiveIntegerField(_("首保里程(公里)"), null=True, blank=True)
    service_interval_months = models.PositiveSmallIntegerField(_("定保间隔月数"), default=6)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("保养规则")
        verbose_name_plural = _("保养规则")
        ordering = ["brand"]
        constraints = [
            models.CheckConstraint(condition=Q(first_service_months__gte=1),
                                   name="service_rule_first_months_positive"),
            models.CheckConstraint(condition=Q(service_interval_months__gte=1),
                                   name="service_rule_interval_positive"),
        ]

    def __str__(self):
        return self.brand or str(_("默认规则"))


class Sale(models.Model):
    """A new-car sale: price, discount, consultant, order and delivery dates, insurance
    bought with it, manufacturer finance used. Delivery sets the vehicle's first-service
    due date."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="sales",
                                verbose_name=_("车辆"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sales",
                                 verbose_name=_("客户"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="sales",
                              verbose_name=_("门店"))
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="sales",
                                   verbose_name=_("销售顾问"))
    consultant_name = models.CharField(_("销售顾问姓名"), max_length=50, blank=True)
    price = models.DecimalField(_("成交价"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("优惠金额"), max_digits=12, decimal_places=2, default=0)
    order_date = models.DateField(_("订车日期"))
    delivered_on = models.DateField(_("交车日期"), null=True, blank=True, db_index=True)
    insurance_bought = models.BooleanField(_("本店购买保险"), default=False)
    finance_used = models.BooleanField(_("使用厂家金融"), default=False)
    dms_ref = models.CharField(_("DMS单号"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("销售记录")
        verbose_name_plural = _("销售记录")
        ordering = ["-order_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(delivered_on__isnull=True)
                                   | Q(delivered_on__gte=models.F("order_date")),
                                   name="sale_delivery_not_before_order"),
            models.CheckConstraint(condition=Q(price__gte=0) & Q(discount__gte=0),
                                   name="sale_amounts_not_negative"),
            models.UniqueConstraint(fields=["store", "dms_ref"], condition=~Q(dms_ref=""),
                                    name="sale_dms_ref_unique"),
        ]

    def __str__(self):
        return f"{self.vehicle} {self.order_date}"


class ServiceVisit(models.Model):
    """A workshop visit (进厂): advisor, repair type, amount, in and out, mileage and the
    next service date the advisor set. Moves the vehicle's last visit and next service."""

    class RepairType(models.TextChoices):
        FIRST_SERVICE = "first_service", _("首保")
        PERIODIC_SERVICE = "periodic_service", _("定期保养")
        REPAIR = "repair", _("一般维修")
        BODY_PAINT = "body_paint", _("钣金喷漆")
        WARRANTY = "warranty", _("保修")
        ACCIDENT = "accident", _("事故维修")
        RECALL = "recall", _("召回活动")
        OTHER = "other", _("其他")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="visits",
                                verbose_name=_("车辆"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="visits",
                                 verbose_name=_("客户"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="service_visits",
                              verbose_name=_("门店"))
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="service_visits",
                                verbose_name=_("服务顾问"))
    advisor_name = models.CharField(_("服务顾问姓名"), max_length=50, blank=True)
    repair_type = models.CharField(_("维修类型"), max_length=20, choices=RepairType.choices)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2, default=0)
    date_in = models.DateField(_("进厂日期"), db_index=True)
    date_out = models.DateField(_("出厂日期"), null=True, blank=True)
    mileage = models.PositiveIntegerField(_("里程(公里)"), null=True, blank=True)
    next_service_on = models.DateField(_("下次保养日期"), null=True, blank=True)
    dms_ref = models.CharField(_("DMS工单号"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("维修保养记录")
        verbose_name_plural = _("维修保养记录")
        ordering = ["-date_in", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(date_out__isnull=True)
                                   | Q(date_out__gte=models.F("date_in")),
                                   name="visit_out_not_before_in"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="visit_amount_not_negative"),
            models.UniqueConstraint(fields=["store", "dms_ref"], condition=~Q(dms_ref=""),
                                    name="visit_dms_ref_unique"),
        ]
        indexes = [
            models.Index(fields=["vehicle", "-date_in"], name="visit_vehicle_date_idx"),
            # The nightly follow-up calls after a visit: a store's cars out on a day.
            models.Index(fields=["store", "date_out"], name="visit_store_out_idx"),
        ]

    def __str__(self):
        return f"{self.vehicle} {self.date_in} {self.get_repair_type_display()}"


class InsurancePolicy(models.Model):
    """A motor insurance policy on a vehicle: insurer, start, expiry, bought through the
    store or elsewhere. The latest expiry becomes the vehicle's insurance due date."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="policies",
                                verbose_name=_("车辆"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="policies",
                                 verbose_name=_("客户"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="insurance_policies",
                              verbose_name=_("门店"))
    insurer = models.CharField(_("保险公司"), max_length=100)
    policy_no = models.CharField(_("保单号"), max_length=50, blank=True)
    premium = models.DecimalField(_("保费"), max_digits=12, decimal_places=2, null=True,
                                  blank=True)
    starts_on = models.DateField(_("起保日期"))
    expires_on = models.DateField(_("到期日期"), db_index=True)
    bought_here = models.BooleanField(_("本店投保"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("保险记录")
        verbose_name_plural = _("保险记录")
        ordering = ["-expires_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gt=models.F("starts_on")),
                                   name="policy_expiry_after_start"),
            models.UniqueConstraint(fields=["vehicle", "starts_on"], name="policy_once_per_start"),
        ]

    def __str__(self):
        return f"{self.vehicle} {self.insurer} {self.expires_on}"


class CorrectionRequest(models.Model):
    """A customer error-correction form (客户错误信息修正表): a caller found a wrong record
    on a call and files what was wrong and what it should be; the store's sales or service
    manager applies or rejects it; a second call confirms it."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        APPLIED = "applied", _("已修正")
        REJECTED = "rejected", _("已驳回")

    class Department(models.TextChoices):
        SALES = "sales", _("销售部")
        SERVICE = "service", _("服务部")

    # Fields a correction may change: "<model>.<field>".
    class Field(models.TextChoices):
        NAME = "customer.name", _("姓名/名称")
        MOBILE = "customer.mobile", _("手机")
        LANDLINE = "customer.landline", _("固定电话")
        GENDER = "customer.gender", _("性别")
        BIRTH_DATE = "customer.birth_date", _("出生日期")
        ID_NUMBER = "customer.id_number", _("身份证号")
        HOME_ADDRESS = "customer.home_address", _("家庭住址")
        EMAIL = "customer.email", _("电子邮箱")
        EMPLOYER = "customer.employer", _("工作单位")
        PLATE = "vehicle.plate", _("车牌号")
        VIN = "vehicle.vin", _("车架号(VIN)")
        ENGINE_NO = "vehicle.engine_no", _("发动机号")
        MODEL_NAME = "vehicle.model_name", _("车型")
        COLOUR = "vehicle.colour", _("颜色")
        OTHER = "other", _("其他（手工处理）")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="correction_requests",
                              verbose_name=_("门店"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="correction_requests", verbose_name=_("客户"))
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="correction_requests", verbose_name=_("车辆"))
    plate = models.CharField(_("车牌号"), max_length=8, blank=True)
    call_date = models.DateField(_("回访日期"))
    department = models.CharField(_("责任部门"), max_length=10, choices=Department.choices)
    field = models.CharField(_("错误项目"), max_length=30, choices=Field.choices)
    # What was wrong and what is right may be an ID number or a mobile: encrypted at rest.
    wrong_value = EncryptedTextField(_("错误信息"), blank=True)
    correct_value = EncryptedTextField(_("正确信息"))
    note = models.TextField(_("说明"), blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="filed_corrections", verbose_name=_("回访员"))
    filed_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="decided_corrections",
                                   verbose_name=_("处理人"))
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decision_note = models.TextField(_("处理意见"), blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="confirmed_corrections",
                                     verbose_name=_("复核人"))
    confirmed_at = models.DateTimeField(_("电话复核时间"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("信息修正申请")
        verbose_name_plural = _("信息修正申请")
        ordering = ["-filed_at", "-id"]
        permissions = [("decide_correctionrequest", _("处理信息修正申请"))]

    def __str__(self):
        return f"{self.customer} {self.get_field_display()}"


class CustomerMerge(models.Model):
    """One merge of a duplicate customer into the kept one: which rows moved and which
    blank fields of the kept record were filled, so that it can be undone."""

    kept = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_kept",
                             verbose_name=_("保留客户"))
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT,
                               related_name="merges_absorbed", verbose_name=_("被合并客户"))
    moved = models.JSONField(_("转移的记录"), default=dict, blank=True)
    filled_fields = models.JSONField(_("补充的字段"), default=dict, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("操作人"))
    merged_at = models.DateTimeField(_("合并时间"), auto_now_add=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+",
                                  verbose_name=_("撤销人"))
    undone_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("客户合并记录")
        verbose_name_plural = _("客户合并记录")
        ordering = ["-merged_at", "-id"]

    def __str__(self):
        return f"{self.merged} -> {self.kept}"


class PersonalDataReveal(models.Model):
    """A member of staff revealed a masked identifier of a customer (full mobile or ID
    number). An audit row, written once, never edited."""

    class Field(models.TextChoices):
        MOBILE = "mobile", _("手机")
        ID_NUMBER = "id_number", _("身份证号")
        CREDIT_CODE = "credit_code", _("统一社会信用代码")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("员工"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="reveals",
                                 verbose_name=_("客户"))
    field = models.CharField(_("字段"), max_length=20, choices=Field.choices)
    revealed_at = models.DateTimeField(_("查看时间"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        ordering = ["-revealed_at", "-id"]

    def __str__(self):
        return f"{self.user} {self.customer} {self.field}"


class ConsentChange(models.Model):
    """The customer gave or withdrew consent to be contacted on one channel: when, how
    (on a call, in person, in writing...), who recorded it and why. Written by the
    services whenever a channel's consent changes; never edited."""

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        CALL = "call", _("电话")

    class Method(models.TextChoices):
        PHONE = "phone", _("电话中口头表示")
        IN_PERSON = "in_person", _("到店当面表示")
        WRITTEN = "written", _("书面签署")
        SMS_REPLY = "sms_reply", _("短信回复")
        IMPORT = "import", _("DMS导入")
        RECORD = "record", _("建档时登记")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="consent_changes", verbose_name=_("客户"))
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    allowed = models.BooleanField(_("同意联系"))
    method = models.CharField(_("表示方式"), max_length=20, choices=Method.choices)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("记录人"))
    changed_at = models.DateTimeField(_("时间"), db_index=True)

    class Meta:
        verbose_name = _("联系同意记录")
        verbose_name_plural = _("联系同意记录")
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.customer} {self.channel} {self.allowed}"


class PersonalDataExport(models.Model):
    """A member of staff exported personal data: a customer list (which filter, which
    records, how many, masked or in full), a report naming customers, or everything held
    about one customer at the customer's request. An audit row, written once, never edited."""

    class Kind(models.TextChoices):
        LIST = "list", _("客户列表导出")
        REPORT = "report", _("含客户信息的报表")
        SUBJECT = "subject", _("客户个人信息副本")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("员工"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="exports", verbose_name=_("客户"))
    filters = models.CharField(_("筛选条件"), max_length=500, blank=True)
    customer_ids = models.JSONField(_("导出的客户编号"), default=list, blank=True)
    row_count = models.PositiveIntegerField(_("记录数"), default=0)
    unmasked = models.BooleanField(_("完整标识"), default=False)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    exported_at = models.DateTimeField(_("导出时间"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("个人信息导出记录")
        verbose_name_plural = _("个人信息导出记录")
        ordering = ["-exported_at", "-id"]

    def __str__(self):
        return f"{self.user} {self.kind} {self.row_count}"


class CustomerErasure(models.Model):
    """A customer's personal data was erased at the customer's request (who, when, why).
    The record and its sales, visits, tasks and answers stay, so reports still count
    them; only who the customer was is gone."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="erasure",
                                    verbose_name=_("客户"))
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("操作人"))
    erased_at = models.DateTimeField(_("删除时间"), auto_now_add=True)
    reason = models.CharField(_("原因"), max_length=200)
    scrubbed = models.JSONField(_("清除的记录"), default=dict, blank=True)

    class Meta:
        verbose_name = _("个人信息删除记录")
        verbose_name_plural = _("个人信息删除记录")
        ordering = ["-erased_at", "-id"]
        permissions = [("erase_customer", _("删除客户个人信息（应客户要求）"))]

    def __str__(self):
        return f"{self.customer_id} {self.erased_at}"

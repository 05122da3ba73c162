"""Import of dealer-management-system exports (.xlsx or .csv) with django-import-export.

One resource per kind of file (customers, vehicles, sales, service visits, insurance).
Each row goes through the same services as the pages, so validation and due dates are
the same. The whole file runs in one transaction: a dry run, or any bad row, rolls it all
back (all or nothing). Rows upsert: customers by ID number, credit code or mobile;
vehicles by VIN; sales by DMS number or VIN and order date; visits by work-order number or
VIN, date in and repair type; policies by VIN and start date. A row that would change
nothing is skipped, so re-importing a file changes nothing.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import resources
from import_export.results import RowResult

from crm_site.spreadsheets import read_table

from . import services
from .models import Customer, InsurancePolicy, Sale, ServiceVisit, Vehicle
from .validators import (
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
    normalize_vin,
)

# Parsers: raw cell -> value; raise ValidationError with a message for the row report.


def _text(raw):
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


def _date(raw):
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = _text(raw)
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                    "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
    if match:
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            pass
    raise ValidationError(_("日期“%(value)s”无法识别，请用 2026-08-01 格式。") % {"value": text})


def _decimal(raw):
    text = _text(raw).replace(",", "").replace("¥", "").replace("￥", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValidationError(_("金额“%(value)s”不是数字。") % {"value": text}) from error


def _int(raw):
    text = _text(raw).replace(",", "")
    if not text:
        return None
    try:
        return int(Decimal(text))
    except InvalidOperation as error:
        raise ValidationError(_("“%(value)s”不是整数。") % {"value": text}) from error


_TRUE = {"是", "y", "yes", "true", "1", "有", "√"}
_FALSE = {"否", "n", "no", "false", "0", "无", "×", ""}


def _bool(raw):
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise ValidationError(_("“%(value)s”应为“是”或“否”。") % {"value": text})


def _choice(choices):
    by_label = {str(label): value for value, label in choices.choices}
    by_value = set(choices.values)

    def parse(raw):
        text = _text(raw)
        if not text:
            return ""
        if text in by_value:
            return text
        if text in by_label:
            return by_label[text]
        raise ValidationError(_("“%(value)s”不是有效选项（%(options)s）。") % {
            "value": text, "options": "、".join(by_label)})

    return parse


def _mobile(raw):
    return normalize_mobile(_text(raw))


def _id_number(raw):
    return normalize_id_number(_text(raw), today=timezone.localdate())


def _credit_code(raw):
    return normalize_credit_code(_text(raw))


def _vin(raw):
    return normalize_vin(_text(raw))[0]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    parse: object = _text
    required: bool = False
    aliases: tuple = ()


class DmsResource(resources.ModelResource):
    """Base of the import resources: parses a row by its column map, finds the existing
    record, and saves through the services."""

    COLUMNS: tuple = ()

    class Meta:
        model = Customer
        fields = ()
        import_id_fields = ()
        skip_diff = True
        clean_model_instances = False
        use_transactions = True

    def __init__(self, *, store, actor=None):
        super().__init__()
        self.store, self.actor = store, actor
        self.mapping = {}

    # Header mapping -------------------------------------------------------------------------

    @classmethod
    def map_headers(cls, headers):
        """{file header: column key or None}."""
        lookup = {}
        for column in cls.COLUMNS:
            for name in (column.label, column.key, *column.aliases):
                lookup[_norm_header(name)] = column.key
        return {header: lookup.get(_norm_header(header)) for header in headers if header}

    @classmethod
    def missing_columns(cls, mapping):
        found = set(mapping.values())
        return [c.label for c in cls.COLUMNS if c.required and c.key not in found]

    def before_import(self, dataset, **kwargs):
        self.mapping = self.map_headers(dataset.headers)

    # Row flow ------------------------------------------------------------------------------------

    def parse(self, row):
        raw = {}
        for header, key in self.mapping.items():
            if key and header in row:
                raw[key] = row[header]
        values, errors = {}, {}
        for column in self.COLUMNS:
            cell = raw.get(column.key)
            try:
                value = column.parse(cell)
            except ValidationError as error:
                errors[column.label] = error.messages
                continue
            if column.required and value in ("", None):
                errors[column.label] = [_("必填。")]
            values[column.key] = value
        if errors:
            raise ValidationError(errors)
        return values

    def get_or_init_instance(self, instance_loader, row):
        self.values = self.parse(row)
        existing = self.find(self.values)
        if existing is not None:
            return existing, False
        return self._meta.model(), True

    def import_instance(self, instance, row, **kwargs):
        self.changes = None if instance.pk is None else self.changed(instance, self.values)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return instance.pk is not None and not self.changes and not import_validation_errors

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            saved = self.create(self.values) if is_create else self.update(instance, self.changes)
        except ValidationError as error:
            raise ValidationError(_relabel(error, self.COLUMNS)) from error
        instance.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})

    def import_row(self, row, instance_loader, **kwargs):
        if all(value in (None, "") for value in row.values()):
            result = self.get_row_result_class()()
            result.import_type = RowResult.IMPORT_TYPE_SKIP
            return result
        return super().import_row(row, instance_loader, **kwargs)

    # To implement --------------------------------------------------------------------------------

    def find(self, values):
        raise NotImplementedError

    def changed(self, instance, values):
        """Fields whose value in the file differs from the record (blank cells keep)."""
        return {key: value for key, value in values.items()
                if key in self.UPDATABLE and value not in ("", None)
                and getattr(instance, key) != value}

    UPDATABLE: tuple = ()

    def create(self, values):
        raise NotImplementedError

    def update(self, instance, changes):
        return instance

    def vehicle_of(self, vin):
        vehicle = Vehicle.objects.filter(vin=vin).select_related("customer").first()
        if vehicle is None:
            raise ValidationError({"vin": _("找不到车架号为 %(vin)s 的车辆，请先导入车辆。") % {"vin": vin}})
        if vehicle.store_id != self.store.pk:
            raise ValidationError({"vin": _("该车辆属于其他门店。")})
        return vehicle


def _norm_header(name):
    return re.sub(r"[\s_（）()*:：]", "", str(name or "")).lower()


def _relabel(error, columns):
    """Service errors name model fields; the report names the file's columns."""
    labels = {c.key: c.label for c in columns}
    if not hasattr(error, "error_dict"):
        return error
    return {labels.get(key, key if key != "__all__" else "__all__"): messages
            for key, messages in error.message_dict.items()}


class CustomerResource(DmsResource):
    COLUMNS = (
        Column("name", "姓名", required=True, aliases=("客户名称", "客户姓名", "名称")),
        Column("kind", "客户类型", _choice(Customer.Kind)),
        Column("mobile", "手机", _mobile, aliases=("手机号", "手机号码", "移动电话")),
        Column("landline", "固定电话", aliases=("电话", "座机")),
        Column("gender", "性别", _choice(Customer.Gender)),
        Column("birth_date", "出生日期", _date, aliases=("生日",)),
        Column("id_number", "身份证号", _id_number, aliases=("身份证", "身份证号码", "证件号码")),
        Column("home_address", "家庭住址", aliases=("地址", "住址")),
        Column("email", "电子邮箱", aliases=("邮箱", "email")),
        Column("employer", "工作单位"),
        Column("occupation", "职业"),
        Column("credit_code", "统一社会信用代码", _credit_code, aliases=("信用代码",)),
        Column("industry", "行业"),
        Column("contact_person", "联系人"),
        Column("source", "来源渠道", aliases=("来源",)),
        Column("sms_allowed", "接受短信", _bool),
        Column("call_allowed", "接受电话", _bool),
        Column("note", "备注"),
    )
    UPDATABLE = ("name", "mobile", "landline", "gender", "birth_date", "id_number",
                 "home_address", "email", "employer", "occupation", "credit_code", "industry",
                 "contact_person", "source", "sms_allowed", "call_allowed", "note")

    class Meta(DmsResource.Meta):
        model = Customer

    def find(self, values):
        active = Customer.objects.filter(store=self.store, is_active=True).order_by("id")
        for key in ("id_number", "credit_code", "mobile"):
            if values.get(key):
                found = (active.with_id_number(values[key]) if key == "id_number"
                         else active.filter(**{key: values[key]})).first()
                if found:
                    return found
        return None

    def create(self, values):
        values = {k: v for k, v in values.items() if v is not None}
        return services.customer_create(store=self.store, actor=self.actor, **values)

    def update(self, instance, changes):
        return services.customer_update(customer=instance, actor=self.actor, **changes)


class VehicleResource(DmsResource):
    COLUMNS = (
        Column("vin", "车架号", _vin, required=True, aliases=("VIN", "车架号VIN", "底盘号")),
        Column("plate", "车牌号", aliases=("车牌", "牌照号")),
        Column("engine_no", "发动机号"),
        Column("model_name", "车型"),
        Column("trim_code", "配置代码", aliases=("SFX", "配置")),
        Column("colour", "颜色", aliases=("车身颜色",)),
        Column("annual_inspection_on", "年检日期", _date),
        Column("owner_id_number", "车主身份证号", _id_number),
        Column("owner_credit_code", "车主信用代码", _credit_code),
        Column("owner_mobile", "车主手机", _mobile, aliases=("车主电话",)),
    )
    UPDATABLE = ("plate", "engine_no", "model_name", "trim_code", "colour",
                 "annual_inspection_on")

    class Meta(DmsResource.Meta):
        model = Vehicle

    def parse(self, row):
        values = super().parse(row)
        if values.get("plate"):
            from .validators import normalize_plate
            try:
                values["plate"] = normalize_plate(values["plate"])
            except ValidationError as error:
                raise ValidationError({"车牌号": error.messages}) from error
        self.owner = self.owner_of(values)
        return values

    def owner_of(self, values):
        active = Customer.objects.filter(store=self.store, is_active=True).order_by("id")
        for key, field_name in (("owner_id_number", "id_number"),
                                ("owner_credit_code", "credit_code"),
                                ("owner_mobile", "mobile")):
            if values.get(key):
                found = (active.with_id_number(values[key]) if field_name == "id_number"
                         else active.filter(**{field_name: values[key]})).first()
                if found:
                    return found
        raise ValidationError({"车主": _("找不到车主：请填写车主身份证号、信用代码或手机，并先导入客户。")})

    def find(self, values):
        vehicle = Vehicle.objects.filter(vin=values["vin"]).first()
        if vehicle is not None and vehicle.store_id != self.store.pk:
            raise ValidationError({"车架号": _("该车辆属于其他门店。")})
        return vehicle

    def changed(self, instance, values):
        changes = super().changed(instance, values)
        if instance.customer_id != self.owner.pk:
            changes["owner"] = self.owner
        return changes

    def create(self, values):
        fields = {k: values[k] for k in self.UPDATABLE if values.get(k) not in ("", None)}
        return services.vehicle_register(store=self.store, customer=self.owner, vin=values["vin"],
                                         actor=self.actor, **fields)

    def update(self, instance, changes):
        changes = dict(changes)
        owner = changes.pop("owner", None)
        if changes:
            instance = services.vehicle_update(vehicle=instance, actor=self.actor, **changes)
        if owner is not None:
            instance = services.vehicle_transfer(vehicle=instance, customer=owner, actor=self.actor)
        return instance


class SaleResource(DmsResource):
    COLUMNS = (
        Column("vin", "车架号", _vin, required=True, aliases=("VIN",)),
        Column("order_date", "订车日期", _date, required=True, aliases=("订单日期",)),
        Column("delivered_on", "交车日期", _date),
        Column("price", "成交价", _decimal, required=True, aliases=("成交价格", "车价")),
        Column("discount", "优惠金额", _decimal, aliases=("优惠",)),
        Column("consultant_name", "销售顾问"),
        Column("insurance_bought", "本店投保", _bool, aliases=("购买保险",)),
        Column("finance_used", "厂家金融", _bool, aliases=("金融贷款", "使用金融")),
        Column("dms_ref", "DMS单号", aliases=("销售单号", "订单号")),
    )

    class Meta(DmsResource.Meta):
        model = Sale

    def find(self, values):
        self.vehicle = self.vehicle_of(values["vin"])
        sales = Sale.objects.filter(store=self.store)
        if values.get("dms_ref"):
            return sales.filter(dms_ref=values["dms_ref"]).first()
        return sales.filter(vehicle=self.vehicle, order_date=values["order_date"]).first()

    def changed(self, instance, values):
        if values.get("delivered_on") and instance.delivered_on is None:
            return {"delivered_on": values["delivered_on"]}
        return {}

    def create(self, values):
        return services.sale_record(
            vehicle=self.vehicle, price=values["price"], discount=values.get("discount") or 0,
            order_date=values["order_date"], delivered_on=values.get("delivered_on"),
            consultant_name=values.get("consultant_name", ""),
            insurance_bought=bool(values.get("insurance_bought")),
            finance_used=bool(values.get("finance_used")), dms_ref=values.get("dms_ref", ""),
            actor=self.actor)

    def update(self, instance, changes):
        return services.sale_deliver(sale=instance, delivered_on=changes["delivered_on"],
                                     actor=self.actor)


class ServiceVisitResource(DmsResource):
    COLUMNS = (
        Column("vin", "车架号", _vin, required=True, aliases=("VIN",)),
        Column("date_in", "进厂日期", _date, required=True, aliases=("进厂时间",)),
        Column("date_out", "出厂日期", _date, aliases=("出厂时间",)),
        Column("repair_type", "维修类型", _choice(ServiceVisit.RepairType), required=True),
        Column("amount", "金额", _decimal, aliases=("结算金额", "工单金额")),
        Column("mileage", "里程", _int, aliases=("进厂里程", "公里数")),
        Column("next_service_on", "下次保养日期", _date),
        Column("advisor_name", "服务顾问"),
        Column("dms_ref", "工单号", aliases=("DMS工单号", "维修单号")),
    )

    class Meta(DmsResource.Meta):
        model = ServiceVisit

    def find(self, values):
        self.vehicle = self.vehicle_of(values["vin"])
        visits = ServiceVisit.objects.filter(store=self.store)
        if values.get("dms_ref"):
            return visits.filter(dms_ref=values["dms_ref"]).first()
        return visits.filter(vehicle=self.vehicle, date_in=values["date_in"],
                             repair_type=values["repair_type"]).first()

    def changed(self, instance, values):
        return {}

    def create(self, values):
        return services.service_visit_record(
            vehicle=self.vehicle, repair_type=values["repair_type"], date_in=values["date_in"],
            date_out=values.get("date_out"), amount=values.get("amount") or 0,
            mileage=values.get("mileage"), next_service_on=values.get("next_service_on"),
            advisor_name=values.get("advisor_name", ""), dms_ref=values.get("dms_ref", ""),
            actor=self.actor)


class InsurancePolicyResource(DmsResource):
    COLUMNS = (
        Column("vin", "车架号", _vin, required=True, aliases=("VIN",)),
        Column("insurer", "保险公司", required=True),
        Column("policy_no", "保单号"),
        Column("starts_on", "起保日期", _date, required=True),
        Column("expires_on", "到期日期", _date, required=True, aliases=("终保日期", "保险到期日")),
        Column("premium", "保费", _decimal),
        Column("bought_here", "本店投保", _bool),
    )

    class Meta(DmsResource.Meta):
        model = InsurancePolicy

    def find(self, values):
        self.vehicle = self.vehicle_of(values["vin"])
        return InsurancePolicy.objects.filter(vehicle=self.vehicle,
                                              starts_on=values["starts_on"]).first()

    def changed(self, instance, values):
        return {}

    def create(self, values):
        bought_here = values.get("bought_here")
        return services.insurance_policy_record(
            vehicle=self.vehicle, insurer=values["insurer"], starts_on=values["starts_on"],
            expires_on=values["expires_on"], premium=values.get("premium"),
            policy_no=values.get("policy_no", ""),
            bought_here=True if bought_here is None else bought_here, actor=self.actor)


RESOURCES = {
    "customers": CustomerResource,
    "vehicles": VehicleResource,
    "sales": SaleResource,
    "visits": ServiceVisitResource,
    "policies": InsurancePolicyResource,
}
KIND_LABELS = {
    "customers": gettext_lazy("客户"),
    "vehicles": gettext_lazy("车辆"),
    "sales": gettext_lazy("销售记录"),
    "visits": gettext_lazy("维修保养记录"),
    "policies": gettext_lazy("保险记录"),
}


@dataclass
class ImportReport:
    """What an import did or would do: the column map, counts and every bad row."""

    mapping: dict = field(default_factory=dict)  # {file header: column key or None}
    labels: dict = field(default_factory=dict)  # {column key: column label}
    missing: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    row_errors: list = field(default_factory=list)  # [(spreadsheet row, [messages])]
    file_errors: list = field(default_factory=list)
    dry_run: bool = True
    total_rows: int = 0
    skip_invalid: bool = False

    @property
    def ok(self):
        """The file can be (or was) imported: no file error, and no bad row unless bad
        rows are to be skipped."""
        if self.missing or self.file_errors:
            return False
        return self.skip_invalid or not self.row_errors

    @property
    def column_rows(self):
        """(file header, recognised column label or None) for the mapping preview."""
        return [(header, self.labels.get(key)) for header, key in self.mapping.items()]

    @property
    def imported(self):
        return self.ok and not self.dry_run


def read_dataset(content: bytes, filename: str):
    """A tablib Dataset from .xlsx or .csv bytes (UTF-8, with or without BOM, or GBK),
    bounded in rows and cells before the sheet is read (crm_site.spreadsheets)."""
    return read_table(content, filename)


def run_import(*, kind, store, content, filename, actor=None, dry_run=True, skip_invalid=False):
    """Read the file, map its columns and import it: all or nothing by default; with
    skip_invalid the good rows are imported and the bad ones reported."""
    resource_class = RESOURCES[kind]
    report = ImportReport(dry_run=dry_run, skip_invalid=skip_invalid)
    try:
        dataset = read_dataset(content, filename)
    except ValidationError as error:
        report.file_errors = error.messages
        return report
    except Exception:  # noqa: BLE001 - any unreadable file is reported, not raised
        report.file_errors = [_("文件无法读取，请确认是 .xlsx 或 .csv 格式。")]
        return report
    report.mapping = resource_class.map_headers(dataset.headers or [])
    report.labels = {column.key: column.label for column in resource_class.COLUMNS}
    report.missing = resource_class.missing_columns(report.mapping)
    report.total_rows = len(dataset)
    if report.missing:
        return report
    resource = resource_class(store=store, actor=actor)
    result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True,
                                  rollback_on_validation_errors=not skip_invalid,
                                  raise_errors=False)
    for line in result.invalid_rows:
        messages = [f"{key}：{'；'.join(map(str, msgs))}" if key != "__all__" else "；".join(msgs)
                    for key, msgs in line.error_dict.items()]
        report.row_errors.append((line.number + 1, messages))
    for number, errors in result.row_errors():
        report.row_errors.append((number + 1, [str(e.error) for e in errors]))
    report.row_errors.sort()
    report.file_errors.extend(str(e.error) for e in result.base_errors)
    report.totals = {
        "new": result.totals[RowResult.IMPORT_TYPE_NEW],
        "update": result.totals[RowResult.IMPORT_TYPE_UPDATE],
        "skip": result.totals[RowResult.IMPORT_TYPE_SKIP],
        "invalid": result.totals[RowResult.IMPORT_TYPE_INVALID]
        + result.totals[RowResult.IMPORT_TYPE_ERROR],
    }
    if not report.ok:
        report.dry_run = True  # nothing was saved
    return report

"""DMS exports imported through the site's one import framework (crm_site.imports):
customers, vehicles, sales, service visits and insurance policies.

Each importer reads a batch's references in bulk, plans every row by its natural key
and writes the batch set-based with history rows:

- customers by resident ID number (its keyed hash), credit code or mobile, in the store;
- vehicles by VIN, their owner found the same way as a customer;
- sales by DMS order number, else VIN and order date;
- service visits by DMS repair-order number, else VIN, day in and kind of visit;
- insurance policies by policy number, else VIN and start date.

A row that would change nothing is left alone, so the same file imported again changes
nothing. The rules are those of the services (customers.services); what the floors above
do after a visit is done once per file through the "visits imported" hooks.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from crm_site.crypto import keyed_hash
from crm_site.imports import (
    HISTORY_REASON,
    Column,
    Importer,
    checked,
    choice,
    day,
    integer,
    money,
    update_with_history,
    yes_no,
)

from . import hooks, rules, services
from .models import (
    ConsentChange,
    Customer,
    InsurancePolicy,
    Sale,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from .validators import (
    id_birth_date,
    id_gender,
    normalize_credit_code,
    normalize_id_number,
    normalize_landline,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)

PERMISSION = "customers.import_customers"
mobile = checked(normalize_mobile)
landline = checked(normalize_landline)
credit_code = checked(normalize_credit_code)
plate = checked(normalize_plate)
id_number = checked(lambda value: normalize_id_number(value, today=timezone.localdate()))
vin = checked(lambda value: normalize_vin(value)[0])


def _max(model, name):
    return model._meta.get_field(name).max_length


def _history(objs, model, actor):
    return bulk_create_with_history(objs, model, batch_size=1000, default_user=actor,
                                    default_change_reason=HISTORY_REASON)


def _history_update(objs, model, fields, actor):
    if objs:
        update_with_history(objs, model, fields, actor=actor)


class _CustomerLookup:
    """Finds the store's active customers by ID number, credit code or mobile, for a
    whole batch in one query."""

    def __init__(self, store):
        self.store = store

    def load(self, triples):
        hashes = {keyed_hash(i) for i, _c, _m in triples if i}
        codes = {c for _i, c, _m in triples if c}
        mobiles = {m for _i, _c, m in triples if m}
        self.by_hash, self.by_code, self.by_mobile = {}, {}, {}
        if not (hashes or codes or mobiles):
            return
        found = (Customer.objects.filter(store=self.store, is_active=True)
                 .filter(Q(id_number_hash__in=hashes) | Q(credit_code__in=codes)
                         | Q(mobile__in=mobiles)).order_by("-id"))
        for customer in found:  # the oldest record wins
            if customer.id_number_hash:
                self.by_hash[customer.id_number_hash] = customer
            if customer.credit_code:
                self.by_code[customer.credit_code] = customer
            if customer.mobile:
                self.by_mobile[customer.mobile] = customer

    def find(self, id_value, code, mobile_value):
        return ((id_value and self.by_hash.get(keyed_hash(id_value)))
                or (code and self.by_code.get(code))
                or (mobile_value and self.by_mobile.get(mobile_value)) or None)


class CustomerImporter(Importer):
    kind = "customers"
    label = gettext_lazy("客户")
    permission = PERMISSION
    columns = (
        Column("name", gettext_lazy("姓名"), required=True, aliases=("客户名称", "客户姓名", "名称", "name"),
               max_length=_max(Customer, "name")),
        Column("kind", gettext_lazy("客户类型"),
               choice(Customer.Kind, {"个人": "private", "单位": "company"})),
        Column("mobile", gettext_lazy("手机"), mobile, aliases=("手机号", "手机号码", "移动电话", "mobile")),
        Column("landline", gettext_lazy("固定电话"), landline, aliases=("电话", "座机")),
        Column("gender", gettext_lazy("性别"), choice(Customer.Gender)),
        Column("birth_date", gettext_lazy("出生日期"), day, aliases=("生日",)),
        Column("id_number", gettext_lazy("身份证号"), id_number,
               aliases=("身份证", "身份证号码", "证件号码")),
        Column("home_address", gettext_lazy("家庭住址"), aliases=("地址", "住址"),
               max_length=_max(Customer, "home_address")),
        Column("email", gettext_lazy("电子邮箱"), aliases=("邮箱", "email")),
        Column("employer", gettext_lazy("工作单位"), max_length=_max(Customer, "employer")),
        Column("occupation", gettext_lazy("职业"), max_length=_max(Customer, "occupation")),
        Column("credit_code", gettext_lazy("统一社会信用代码"), credit_code, aliases=("信用代码",)),
        Column("industry", gettext_lazy("行业"), max_length=_max(Customer, "industry")),
        Column("contact_person", gettext_lazy("联系人"), max_length=_max(Customer, "contact_person")),
        Column("source", gettext_lazy("来源渠道"), aliases=("来源",), max_length=_max(Customer, "source")),
        Column("sms_allowed", gettext_lazy("接受短信"), yes_no),
        Column("call_allowed", gettext_lazy("接受电话"), yes_no),
        Column("note", gettext_lazy("备注"), max_length=4000),
    )
    template_rows = (("张伟", "个人", "13800138000", "", "男", "1985-03-02", "", "上海市浦东新区",
                      "", "", "", "", "", "", "展厅", "是", "是", ""),)
    UPDATABLE = ("name", "mobile", "landline", "gender", "birth_date", "id_number",
                 "home_address", "email", "employer", "occupation", "credit_code", "industry",
                 "contact_person", "source", "note")
    CONSENT = ("sms_allowed", "call_allowed")

    def key(self, values):
        if values.get("id_number"):
            return ("id", keyed_hash(values["id_number"]))
        if values.get("credit_code"):
            return ("credit", values["credit_code"])
        if values.get("mobile"):
            return ("mobile", values["mobile"])
        return None

    def check(self, rows):
        email = EmailValidator(message=_("电子邮箱格式不正确。"))
        for row in rows:
            values = row.values
            kind = values.get("kind") or Customer.Kind.PRIVATE
            values["kind"] = kind
            if kind == Customer.Kind.PRIVATE and not values.get("mobile") \
                    and not values.get("landline") and row.ok:
                row.error("mobile", _("请至少填写手机或固定电话。"))
            if kind == Customer.Kind.COMPANY and values.get("id_number"):
                row.error("id_number", _("单位客户请填写统一社会信用代码，不填身份证号。"))
            birth = values.get("birth_date")
            if birth and birth > self.today:
                row.error("birth_date", _("出生日期不合理。"))
            if values.get("id_number") and row.ok:
                try:
                    normalize_id_number(values["id_number"], birth_date=birth,
                                        gender=values.get("gender") or None, today=self.today)
                except ValidationError as error:
                    row.error("id_number", " ".join(error.messages))
                else:
                    values["birth_date"] = birth or id_birth_date(values["id_number"])
                    values["gender"] = values.get("gender") or id_gender(values["id_number"])
            if values.get("email"):
                try:
                    email(values["email"])
                except ValidationError as error:
                    row.error("email", " ".join(error.messages))

    def plan(self, rows):
        lookup = _CustomerLookup(self.store)
        lookup.load([(r.values.get("id_number"), r.values.get("credit_code"),
                      r.values.get("mobile")) for r in rows])
        for row in rows:
            values = row.values
            found = lookup.find(values.get("id_number"), values.get("credit_code"),
                                values.get("mobile"))
            if found is None:
                row.action = "new"
                continue
            row.record = found
            for name in (*self.UPDATABLE, *self.CONSENT):
                value = values.get(name)
                if value in ("", None):
                    continue  # a blank cell keeps what the record has
                if name == "id_number":
                    if found.id_number_hash != keyed_hash(value):
                        row.changes[name] = value
                elif getattr(found, name) != value:
                    row.changes[name] = value
            row.action = "update" if row.changes else "same"

    def write(self, rows):
        now = timezone.now()
        new = []
        for row in rows:
            if row.action != "new":
                continue
            values = {k: v for k, v in row.values.items() if v is not None}
            customer = Customer(store=self.store, **values)
            customer.id_number_hash = keyed_hash(customer.id_number) if customer.id_number else ""
            if not customer.sms_allowed or not customer.call_allowed:
                customer.consent_updated_at = now
            new.append(customer)
        _history(new, Customer, self.actor)
        ConsentChange.objects.bulk_create([
            ConsentChange(customer=customer, channel=channel, allowed=False,
                          method=ConsentChange.Method.IMPORT, recorded_by=self.actor,
                          changed_at=now)
            for customer in new
            for channel, allowed in ((ConsentChange.Channel.SMS, customer.sms_allowed),
                                     (ConsentChange.Channel.CALL, customer.call_allowed))
            if not allowed])
        changed, fields = [], {"updated_at"}
        for row in rows:
            if row.action != "update":
                continue
            customer = row.record
            consent = {k: row.changes.pop(k) for k in self.CONSENT if k in row.changes}
            for name, value in row.changes.items():
                setattr(customer, name, value)
                fields.add(name)
                if name == "id_number":
                    customer.id_number_hash = keyed_hash(value)
                    fields.add("id_number_hash")
            if row.changes:
                customer.updated_at = now
                changed.append(customer)
            if consent:  # rare: through the service, whose hooks cancel withdrawn work
                services.customer_update(
                    customer=customer, actor=self.actor, allow_duplicate=True,
                    consent_method=ConsentChange.Method.IMPORT, **consent)
        _history_update(changed, Customer, sorted(fields), self.actor)


class VehicleImporter(Importer):
    kind = "vehicles"
    label = gettext_lazy("车辆")
    permission = PERMISSION
    columns = (
        Column("vin", gettext_lazy("车架号"), vin, required=True, aliases=("VIN", "车架号VIN", "底盘号")),
        Column("plate", gettext_lazy("车牌号"), plate, aliases=("车牌", "牌照号")),
        Column("engine_no", gettext_lazy("发动机号"), max_length=_max(Vehicle, "engine_no")),
        Column("model_name", gettext_lazy("车型"), max_length=_max(Vehicle, "model_name")),
        Column("trim_code", gettext_lazy("配置代码"), aliases=("SFX", "配置"),
               max_length=_max(Vehicle, "trim_code")),
        Column("colour", gettext_lazy("颜色"), aliases=("车身颜色",), max_length=_max(Vehicle, "colour")),
        Column("annual_inspection_on", gettext_lazy("年检日期"), day),
        Column("owner_id_number", gettext_lazy("车主身份证号"), id_number),
        Column("owner_credit_code", gettext_lazy("车主信用代码"), credit_code),
        Column("owner_mobile", gettext_lazy("车主手机"), mobile, aliases=("车主电话",)),
    )
    template_rows = (("LSVAU2180N2183294", "沪A12345", "", "朗逸", "", "白色", "", "", "",
                      "13800138000"),)
    UPDATABLE = ("plate", "engine_no", "model_name", "trim_code", "colour",
                 "annual_inspection_on")

    def key(self, values):
        return values.get("vin") or None

    def check(self, rows):
        lookup = _CustomerLookup(self.store)
        lookup.load([(r.values.get("owner_id_number"), r.values.get("owner_credit_code"),
                      r.values.get("owner_mobile")) for r in rows if r.ok])
        for row in rows:
            if not row.ok:
                continue
            values = row.values
            values["engine_no"] = values.get("engine_no", "").upper()
            values["trim_code"] = values.get("trim_code", "").upper()
            row.owner = lookup.find(values.get("owner_id_number"),
                                    values.get("owner_credit_code"), values.get("owner_mobile"))
            if row.owner is None:
                row.error("owner_mobile",
                          _("找不到车主：请填写车主身份证号、信用代码或手机，并先导入客户。"))

    def plan(self, rows):
        existing = {v.vin: v for v in Vehicle.objects.filter(vin__in=[r.values["vin"] for r in rows])}
        for row in rows:
            vehicle = existing.get(row.values["vin"])
            if vehicle is None:
                row.action = "new"
                continue
            if vehicle.store_id != self.store.pk:
                row.error("vin", _("该车辆属于其他门店。"))
                continue
            row.record = vehicle
            row.changes = {name: row.values[name] for name in self.UPDATABLE
                           if row.values.get(name) not in ("", None)
                           and getattr(vehicle, name) != row.values[name]}
            if vehicle.customer_id != row.owner.pk:
                row.changes["owner"] = row.owner
            row.action = "update" if row.changes else "same"

    def write(self, rows):
        now = timezone.now()
        new = [Vehicle(store=self.store, customer=row.owner, vin=row.values["vin"],
                       **{name: row.values[name] for name in self.UPDATABLE
                          if row.values.get(name) is not None})
               for row in rows if row.action == "new"]
        _history(new, Vehicle, self.actor)
        _history([VehicleOwnership(vehicle=vehicle, customer_id=vehicle.customer_id,
                                   started_on=self.today,
                                   reason=VehicleOwnership.Reason.REGISTERED)
                  for vehicle in new], VehicleOwnership, self.actor)
        changed, fields = [], {"updated_at"}
        for row in rows:
            if row.action != "update":
                continue
            row.changes.pop("owner", None)
            for name, value in row.changes.items():
                setattr(row.record, name, value)
                fields.add(name)
            if row.changes:
                row.record.updated_at = now
                changed.append(row.record)
        _history_update(changed, Vehicle, sorted(fields), self.actor)
        for row in rows:  # a change of owner (rare): the service closes the old ownership
            if row.action == "update" and row.record.customer_id != row.owner.pk:
                services.vehicle_transfer(vehicle=row.record, customer=row.owner,
                                          actor=self.actor)


class _VehicleRows(Importer):
    """Rows about one of the store's vehicles, named by its VIN."""

    def check(self, rows):
        vins = {r.values["vin"] for r in rows if r.ok}
        self.vehicles = {v.vin: v for v in Vehicle.objects.filter(vin__in=vins)}
        for row in rows:
            if not row.ok:
                continue
            vehicle = self.vehicles.get(row.values["vin"])
            if vehicle is None:
                row.error("vin", _("找不到车架号为 %(vin)s 的车辆，请先导入车辆。")
                          % {"vin": row.values["vin"]})
            elif vehicle.store_id != self.store.pk:
                row.error("vin", _("该车辆属于其他门店。"))
            elif not vehicle.is_active:
                row.error("vin", _("该车辆已停用（已转卖或报废）。"))
            else:
                row.vehicle = vehicle
                self.check_row(row, vehicle)

    def check_row(self, row, vehicle):
        pass

    def match(self, rows, model, ref_field, key_fields):
        """Plan rows as new or same: found by their reference number in the store when
        they carry one, else by the vehicle and `key_fields`."""
        refs = [r.values[ref_field] for r in rows if r.values.get(ref_field)]
        by_ref = set(model.objects.filter(store=self.store, **{f"{ref_field}__in": refs})
                     .values_list(ref_field, flat=True)) if refs else set()
        vehicle_ids = {r.vehicle.pk for r in rows}
        by_key = set(model.objects.filter(vehicle_id__in=vehicle_ids)
                     .values_list("vehicle_id", *key_fields))
        for row in rows:
            ref = row.values.get(ref_field)
            found = (ref in by_ref if ref else
                     (row.vehicle.pk, *(row.values[f] for f in key_fields)) in by_key)
            row.action = "same" if found else "new"


VISIT_KINDS = {"首次保养": "first_service", "保养": "periodic_service", "定保": "periodic_service",
               "维修": "repair", "机修": "repair", "钣喷": "body_paint", "钣金": "body_paint",
               "索赔": "warranty", "召回": "recall", "事故": "accident"}


class VisitImporter(_VehicleRows):
    kind = "visits"
    label = gettext_lazy("维修保养记录")
    permission = PERMISSION
    columns = (
        Column("vin", gettext_lazy("车架号"), vin, required=True, aliases=("VIN",)),
        Column("date_in", gettext_lazy("进厂日期"), day, required=True, aliases=("进厂时间",)),
        Column("date_out", gettext_lazy("出厂日期"), day, aliases=("出厂时间",)),
        Column("repair_type", gettext_lazy("维修类型"), choice(ServiceVisit.RepairType, VISIT_KINDS),
               required=True, aliases=("业务类型", "工单类型")),
        Column("amount", gettext_lazy("金额"), money, aliases=("结算金额", "工单金额")),
        Column("mileage", gettext_lazy("里程"), integer, aliases=("进厂里程", "公里数")),
        Column("next_service_on", gettext_lazy("下次保养日期"), day),
        Column("advisor_name", gettext_lazy("服务顾问"), max_length=_max(ServiceVisit, "advisor_name")),
        Column("dms_ref", gettext_lazy("工单号"), aliases=("DMS工单号", "维修单号"),
               max_length=_max(ServiceVisit, "dms_ref")),
    )
    template_rows = (("LSVAU2180N2183294", "2026-05-06", "2026-05-06", "定期保养", "680",
                      "15200", "", "李明", "RO20260506001"),)

    def __init__(self, job):
        super().__init__(job)
        self.earliest = None

    def key(self, values):
        if values.get("dms_ref"):
            return ("ref", values["dms_ref"])
        return (values.get("vin"), values.get("date_in"), values.get("repair_type"))

    def check_row(self, row, vehicle):
        values = row.values
        values["amount"] = values.get("amount") or 0
        problems = services.visit_problems(
            vehicle, repair_type=values["repair_type"], date_in=values["date_in"],
            date_out=values.get("date_out"), amount=values["amount"],
            mileage=values.get("mileage"), next_service_on=values.get("next_service_on"),
            today=self.today)
        for name, messages in problems.items():
            row.error(name, " ".join(map(str, messages)))

    def plan(self, rows):
        self.match(rows, ServiceVisit, "dms_ref", ("date_in", "repair_type"))

    def write(self, rows):
        visits = [ServiceVisit(vehicle=row.vehicle, customer_id=row.vehicle.customer_id,
                               store=self.store, advisor_name=row.values.get("advisor_name", ""),
                               repair_type=row.values["repair_type"], amount=row.values["amount"],
                               date_in=row.values["date_in"], date_out=row.values.get("date_out"),
                               mileage=row.values.get("mileage"),
                               next_service_on=row.values.get("next_service_on"),
                               dms_ref=row.values.get("dms_ref", ""))
                  for row in rows]
        _history(visits, ServiceVisit, self.actor)
        if not visits:
            return
        # The vehicles' dates move as the service would move them, visit by visit in date
        # order, read afresh (an earlier batch may have moved them).
        vehicles = {v.pk: v for v in Vehicle.objects.select_for_update()
                    .filter(pk__in={visit.vehicle_id for visit in visits}).select_related("store")}
        now, rule = timezone.now(), services.service_rule_for(self.store)
        for visit in sorted(visits, key=lambda v: (v.date_in, v.pk)):
            services.apply_visit(vehicles[visit.vehicle_id], visit, rule)
        for vehicle in vehicles.values():
            vehicle.updated_at = now
        _history_update(list(vehicles.values()), Vehicle,
                        ["first_service_done_on", "first_service_due_on", "last_visit_on",
                         "mileage", "next_service_due_on", "updated_at"], self.actor)
        first = min(visit.date_in for visit in visits)
        self.earliest = first if self.earliest is None else min(self.earliest, first)

    def finish(self):
        if self.earliest is not None:
            hooks.visits_imported(store=self.store, earliest=self.earliest)


class SaleImporter(_VehicleRows):
    kind = "sales"
    label = gettext_lazy("销售记录")
    permission = PERMISSION
    columns = (
        Column("vin", gettext_lazy("车架号"), vin, required=True, aliases=("VIN",)),
        Column("order_date", gettext_lazy("订车日期"), day, required=True, aliases=("订单日期",)),
        Column("delivered_on", gettext_lazy("交车日期"), day),
        Column("price", gettext_lazy("成交价"), money, required=True, aliases=("成交价格", "车价")),
        Column("discount", gettext_lazy("优惠金额"), money, aliases=("优惠",)),
        Column("consultant_name", gettext_lazy("销售顾问"), max_length=_max(Sale, "consultant_name")),
        Column("insurance_bought", gettext_lazy("本店投保"), yes_no, aliases=("购买保险",)),
        Column("finance_used", gettext_lazy("厂家金融"), yes_no, aliases=("金融贷款", "使用金融")),
        Column("dms_ref", gettext_lazy("DMS单号"), aliases=("销售单号", "订单号"),
               max_length=_max(Sale, "dms_ref")),
    )
    template_rows = (("LSVAU2180N2183294", "2026-03-01", "2026-03-15", "159800", "8000",
                      "王芳", "是", "否", "SO20260301001"),)

    def key(self, values):
        if values.get("dms_ref"):
            return ("ref", values["dms_ref"])
        return (values.get("vin"), values.get("order_date"))

    def check_row(self, row, vehicle):
        values = row.values
        values["discount"] = values.get("discount") or 0
        if values["discount"] > values["price"]:
            row.error("discount", _("优惠金额不能大于成交价。"))
        if values["order_date"] > self.today:
            row.error("order_date", _("订车日期不能晚于今天。"))
        delivered = values.get("delivered_on")
        if delivered and delivered < values["order_date"]:
            row.error("delivered_on", _("交车日期不能早于订车日期。"))
        elif delivered and delivered > self.today:
            row.error("delivered_on", _("交车日期不能晚于今天。"))

    def plan(self, rows):
        self.match(rows, Sale, "dms_ref", ("order_date",))

    def write(self, rows):
        sales = [Sale(vehicle=row.vehicle, customer_id=row.vehicle.customer_id, store=self.store,
                      consultant_name=row.values.get("consultant_name", ""),
                      price=row.values["price"], discount=row.values["discount"],
                      order_date=row.values["order_date"],
                      delivered_on=row.values.get("delivered_on"),
                      insurance_bought=bool(row.values.get("insurance_bought")),
                      finance_used=bool(row.values.get("finance_used")),
                      dms_ref=row.values.get("dms_ref", ""))
                 for row in rows]
        _history(sales, Sale, self.actor)
        delivered = [sale for sale in sales if sale.delivered_on]
        if not delivered:
            return
        vehicles = {v.pk: v for v in Vehicle.objects.select_for_update()
                    .filter(pk__in={sale.vehicle_id for sale in delivered}).select_related("store")}
        now, rule = timezone.now(), services.service_rule_for(self.store)
        for sale in sorted(delivered, key=lambda s: s.delivered_on):
            services.apply_delivery(vehicles[sale.vehicle_id], sale.delivered_on, rule)
        for vehicle in vehicles.values():
            vehicle.updated_at = now
        _history_update(list(vehicles.values()), Vehicle,
                        ["delivered_on", "first_service_due_on", "updated_at"], self.actor)
        buyers = list(Customer.objects.filter(pk__in={s.customer_id for s in delivered})
                      .exclude(card=Customer.Card.C))
        for customer in buyers:
            customer.card, customer.updated_at = Customer.Card.C, now
        _history_update(buyers, Customer, ["card", "updated_at"], self.actor)


class PolicyImporter(_VehicleRows):
    kind = "policies"
    label = gettext_lazy("保险记录")
    permission = PERMISSION
    columns = (
        Column("vin", gettext_lazy("车架号"), vin, required=True, aliases=("VIN",)),
        Column("insurer", gettext_lazy("保险公司"), required=True,
               max_length=_max(InsurancePolicy, "insurer")),
        Column("policy_no", gettext_lazy("保单号"), max_length=_max(InsurancePolicy, "policy_no")),
        Column("starts_on", gettext_lazy("起保日期"), day, aliases=("生效日期",)),
        Column("expires_on", gettext_lazy("到期日期"), day, aliases=("终保日期", "保险到期日")),
        Column("premium", gettext_lazy("保费"), money),
        Column("bought_here", gettext_lazy("本店投保"), yes_no, aliases=("本店续保",)),
        Column("renewal_of", gettext_lazy("续保自保单号"), aliases=("上年保单号", "原保单号"),
               max_length=_max(InsurancePolicy, "policy_no")),
    )
    template_rows = (("LSVAU2180N2183294", "中国人保", "PDAA2026310100001", "2026-03-15",
                      "2027-03-14", "4860", "是", ""),)

    def key(self, values):
        if values.get("policy_no"):
            return ("no", values["policy_no"])
        return (values.get("vin"), values.get("starts_on"))

    def check(self, rows):
        refs = {r.values["renewal_of"] for r in rows if r.ok and r.values.get("renewal_of")}
        self.renewed = {p.policy_no: p for p in InsurancePolicy.objects.filter(
            store=self.store, policy_no__in=refs)} if refs else {}
        super().check(rows)

    def check_row(self, row, vehicle):
        values = row.values
        previous_no = values.get("renewal_of")
        if previous_no:
            previous = self.renewed.get(previous_no)
            if previous is None or previous.vehicle_id != vehicle.pk:
                row.error("renewal_of", _("找不到该车辆的原保单 %(no)s。") % {"no": previous_no})
                return
            # A renewal as services.insurance_renewal_record dates it.
            values["starts_on"] = values.get("starts_on") or previous.expires_on + timedelta(days=1)
            values["expires_on"] = values.get("expires_on") or \
                rules.add_months(values["starts_on"], 12) - timedelta(days=1)
        if not values.get("starts_on"):
            row.error("starts_on", _("必填。"))
        if not values.get("expires_on"):
            row.error("expires_on", _("必填。"))
        if values.get("starts_on") and values.get("expires_on") and \
                values["expires_on"] <= values["starts_on"]:
            row.error("expires_on", _("到期日期必须晚于起保日期。"))
        if values.get("bought_here") is None:
            values["bought_here"] = True

    def plan(self, rows):
        numbers = [r.values["policy_no"] for r in rows if r.values.get("policy_no")]
        by_no = set(InsurancePolicy.objects.filter(store=self.store, policy_no__in=numbers)
                    .values_list("policy_no", flat=True)) if numbers else set()
        by_start = set(InsurancePolicy.objects.filter(vehicle_id__in={r.vehicle.pk for r in rows})
                       .values_list("vehicle_id", "starts_on"))
        for row in rows:
            if row.values.get("policy_no") in by_no:
                row.action = "same"
            elif (row.vehicle.pk, row.values["starts_on"]) in by_start:
                if row.values.get("policy_no"):
                    row.error("starts_on", _("该车辆在此起保日期已有保单。"))
                else:
                    row.action = "same"
            else:
                row.action = "new"

    def write(self, rows):
        policies = [InsurancePolicy(vehicle=row.vehicle, customer_id=row.vehicle.customer_id,
                                    store=self.store, insurer=row.values["insurer"],
                                    policy_no=row.values.get("policy_no", ""),
                                    premium=row.values.get("premium"),
                                    starts_on=row.values["starts_on"],
                                    expires_on=row.values["expires_on"],
                                    bought_here=row.values["bought_here"])
                    for row in rows]
        _history(policies, InsurancePolicy, self.actor)
        if not policies:
            return
        vehicles = {v.pk: v for v in Vehicle.objects.select_for_update()
                    .filter(pk__in={p.vehicle_id for p in policies})}
        now, changed = timezone.now(), []
        for policy in policies:
            vehicle = vehicles[policy.vehicle_id]
            if vehicle.insurance_expires_on is None or policy.expires_on > vehicle.insurance_expires_on:
                vehicle.insurance_expires_on, vehicle.updated_at = policy.expires_on, now
                changed.append(vehicle)
        _history_update(list({v.pk: v for v in changed}.values()), Vehicle,
                        ["insurance_expires_on", "updated_at"], self.actor)


IMPORTERS = (CustomerImporter, VehicleImporter, SaleImporter, VisitImporter, PolicyImporter)

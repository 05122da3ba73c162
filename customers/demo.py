"""Demo customers for seed_demo: a few hundred Chinese customers with vehicles, sales,
visits and policies whose due dates fall across the coming weeks, so every reminder
programme has work on the demo day. Deterministic (fixed seed) and idempotent (a store
that already has its demo customers is left alone)."""

import random
from datetime import timedelta
from decimal import Decimal

from . import rules, services
from .models import ConsentChange, CorrectionRequest, Customer, FamilyMember, ServiceVisit
from .validators import credit_code_check_char, id_check_digit, vin_check_digit

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
            "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾")
STREETS = ["张杨路", "世纪大道", "龙阳路", "漕溪北路"]
OCCUPATIONS = ["教师", "工程师", "医生", "个体经营", "公务员", "销售", "设计师"]
HOBBIES = ["自驾游", "钓鱼", "摄影", "高尔夫", "跑步", "茶艺", ""]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
         "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "金凤", "志强", "海燕",
         "晓东", "红梅", "国栋", "子涵", "雨萱", "浩然", "思远", "欣怡", "俊杰", "佳琪", "宇航", "梓轩"]
MODELS = {
    "丰田": [("卡罗拉", "ZRE211"), ("凯美瑞", "AXVH70"), ("RAV4荣放", "MXAA54"), ("汉兰达", "GVH40"),
             ("亚洲龙", "AXVH73"), ("威驰", "NSP151"), ("bZ4X", "EA10")],
    "斯柯达": [("明锐", "NE1"), ("速派", "3V2"), ("柯迪亚克", "NS7"), ("柯米克", "NW4")],
}
COLOURS = ["珍珠白", "曜石黑", "银色", "深灰", "宝石蓝", "酒红"]
INSURERS = ["中国人保财险", "平安产险", "太平洋产险", "中华联合", "大地保险"]
DISTRICTS = ["浦东新区", "徐汇区", "闵行区", "静安区", "杨浦区", "宝山区", "长宁区"]
SOURCES = ["展厅", "网络线索", "老客户介绍", "车展", "电话咨询"]
COMPANIES = ["上海申通物流有限公司", "东方明珠文化传媒有限公司", "浦江建设工程有限公司",
             "华夏医药连锁有限公司", "长江电子科技有限公司", "金桥旅游客运有限公司"]
INDUSTRIES = ["物流", "文化传媒", "建筑", "医药", "电子", "旅游"]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _vin(rng, serial):
    wmi = rng.choice(["LVG", "LFV", "LSV", "LTV"])
    body = f"{wmi}{rng.choice('ABCDEFGH')}{rng.randint(10, 99)}{rng.choice('ABCKLM')}{rng.randint(0, 9)}" \
           f"0{rng.choice('PRST')}{rng.choice('ABCDEF')}{serial:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def _plate(rng, prefix, new_energy=False):
    if new_energy:
        return f"{prefix}{rng.choice('DF')}{rng.choice(PLATE_LETTERS)}{rng.randint(0, 9999):04d}"
    tail = "".join(rng.choice(PLATE_LETTERS + "0123456789") for _ in range(2))
    return f"{prefix}{tail}{rng.randint(0, 999):03d}"


def _id_number(rng, born, male):
    seq = rng.randint(0, 499) * 2 + (1 if male else 0)
    first17 = f"3101{rng.randint(1, 15):02d}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def seed(context):
    out = context["stdout"]
    size = context.get("customers_demo_size", 300)
    for store, count, plate_prefix, seed_value in (
        (context["store"], size, "沪A", 2026), (context["other_store"], max(size // 8, 10), "浙A", 571),
    ):
        if Customer.objects.filter(store=store, source__in=SOURCES).exists():
            out.write(f"  customers: {store.name} already has demo customers")
            continue
        made = _seed_store(store, count, plate_prefix, random.Random(seed_value), context)
        out.write(f"  customers: {made} demo customers in {store.name}")
        _seed_imports(store, context)


def _seed_imports(store, context):
    """Two uploads of the sample files (docs/import-samples/): one imported, one whose
    bad rows are listed (and downloadable) on its page."""
    from pathlib import Path

    from django.conf import settings

    from crm_site import imports

    manager = _staff(context, "cr_manager", store)
    if manager is None:
        return
    folder = Path(settings.BASE_DIR) / "docs" / "import-samples"
    for name, commit in (("customers.csv", True), ("customers-with-errors.csv", False)):
        job = imports.job_create(actor=manager, kind="customers", store=store, file_name=name,
                                 content=(folder / name).read_bytes())
        job = imports.job_run(job.pk)
        if commit:
            imports.job_commit(job=job, actor=manager)
            imports.job_run(job.pk, commit=True)


def _staff(context, role, store):
    user = context["staff"].get(role)
    if user is not None and user.stores.filter(pk=store.pk).exists():
        return user
    return None


def _seed_store(store, count, plate_prefix, rng, context):
    today = context["today"]
    specialist = _staff(context, "cr_specialist", store)
    consultant = _staff(context, "sales_manager", store)
    advisor = _staff(context, "service_manager", store)
    models = MODELS.get(store.brand) or MODELS["丰田"]
    first_months, interval = services.service_rule_for(store)
    serial_base = 100000 if plate_prefix == "沪A" else 500000
    used_mobiles, used_plates = set(), set()
    customers = []
    for index in range(count):
        company = index % 25 == 7
        male = rng.random() < 0.6
        born = today - timedelta(days=rng.randint(22 * 365, 65 * 365))
        mobile = None
        while mobile is None or mobile in used_mobiles:
            mobile = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
        used_mobiles.add(mobile)
        fields = {
            "mobile": mobile, "source": rng.choice(SOURCES), "owner": specialist,
            "sms_allowed": rng.random() > 0.06, "call_allowed": rng.random() > 0.03,
            "region": rng.choice(DISTRICTS),
        }
        if not (fields["sms_allowed"] and fields["call_allowed"]):
            fields["contact_refusal_reason"] = rng.choice(["客户要求不再联系", "工作繁忙", "只接受微信联系"])
        if company:
            first17 = f"9131{rng.randint(1000, 9999)}{rng.randint(100000000, 999999999)}"
            fields.update(kind=Customer.Kind.COMPANY, credit_code=first17 + credit_code_check_char(first17),
                          industry=INDUSTRIES[index % len(INDUSTRIES)],
                          company_address=f"上海市{rng.choice(DISTRICTS)}世纪大道{rng.randint(1, 999)}号",
                          contact_person=rng.choice(SURNAMES) + rng.choice(GIVEN),
                          company_size=rng.choice(["small", "medium", "large"]))
            name = COMPANIES[(index // 25) % len(COMPANIES)]
            if index >= 25 * len(COMPANIES):
                name = f"{name}（{index}）"
        else:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            fields.update(gender="male" if male else "female", birth_date=born,
                          home_address=f"上海市{rng.choice(DISTRICTS)}{rng.choice(STREETS)}"
                                       f"{rng.randint(1, 2000)}弄",
                          occupation=rng.choice(OCCUPATIONS), hobbies=rng.choice(HOBBIES),
                          marital_status=rng.choice(["married", "married", "single", ""]))
            if rng.random() < 0.6:
                fields["id_number"] = _id_number(rng, born, male)
        customer = services.customer_create(store=store, name=name, allow_duplicate=True, **fields)
        if not company and rng.random() < 0.3:
            FamilyMember.objects.create(
                customer=customer, relation=rng.choice(["spouse", "child", "parent"]),
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                birthday=today + timedelta(days=rng.randint(1, 60) - 365 * rng.randint(8, 60)))
        customers.append(customer)
        _seed_vehicle(store, customer, index, serial_base + index, rng, today, models, plate_prefix,
                      used_plates, consultant, advisor, first_months, interval)
    # Two records of one person (same mobile) for the duplicates page.
    original = customers[3]
    services.customer_create(store=store, name=original.name, mobile=original.mobile,
                             allow_duplicate=True, source=SOURCES[0], note="DMS重复建档")
    if context["staff"].get("caller") and original.vehicles.exists():
        CorrectionRequest.objects.get_or_create(
            store=store, customer=customers[5], field=CorrectionRequest.Field.HOME_ADDRESS,
            defaults={"call_date": today, "department": CorrectionRequest.Department.SALES,
                      "wrong_value": customers[5].home_address,
                      "correct_value": "上海市浦东新区锦绣路1001弄", "filed_by": context["staff"]["caller"]})
    # A withdrawn consent, said in person at the lounge, with its reason (consent history),
    # and a note with quotes and emoji that every page and export shows as text.
    services.customer_set_consent(customer=customers[6], sms_allowed=False,
                                  call_allowed=customers[6].call_allowed,
                                  reason="到店时表示不再接收短信",
                                  method=ConsentChange.Method.IN_PERSON,
                                  actor=context["staff"].get("cr_manager"))
    services.customer_update(customer=customers[8], note='客户说"下次还来" 👍 =先电话再短信')
    return len(customers) + 1


def _seed_vehicle(store, customer, index, serial, rng, today, models, plate_prefix, used_plates,
                  consultant, advisor, first_months, interval):
    model_name, trim = rng.choice(models)
    plate = None
    while plate is None or plate in used_plates:
        plate = _plate(rng, plate_prefix, new_energy=model_name == "bZ4X")
    used_plates.add(plate)
    # Which programme this customer is demo material for.
    scenario = index % 6
    if scenario == 0:    # first service due in the coming weeks
        delivered = rules.add_months(today, -first_months) + timedelta(days=rng.randint(-10, 45))
    elif scenario == 5:  # lapsed: delivered long ago, last visit 7-14 months ago
        delivered = today - timedelta(days=rng.randint(800, 1500))
    else:
        delivered = today - timedelta(days=rng.randint(400, 1400))
    delivered = min(delivered, today)
    vehicle = services.vehicle_register(
        store=store, customer=customer, vin=_vin(rng, serial), plate=plate,
        engine_no=f"{trim[:2]}{rng.randint(1000000, 9999999)}", model_name=model_name,
        trim_code=trim, colour=rng.choice(COLOURS), started_on=delivered,
        annual_inspection_on=delivered.replace(year=today.year) if delivered.month != 2 or delivered.day != 29
        else delivered.replace(year=today.year, day=28))
    order = delivered - timedelta(days=rng.randint(3, 30))
    price = Decimal(rng.randint(95, 420) * 1000)
    services.sale_record(vehicle=vehicle, price=price, discount=Decimal(rng.randint(0, 15) * 1000),
                         order_date=order, delivered_on=delivered, consultant=consultant,
                         insurance_bought=rng.random() < 0.7, finance_used=rng.random() < 0.3,
                         dms_ref=f"XS{serial}")
    if scenario != 0:
        first_service_on = min(rules.add_months(delivered, first_months)
                               + timedelta(days=rng.randint(-7, 7)), today)
        mileage = rng.randint(4000, 6000)
        services.service_visit_record(
            vehicle=vehicle, repair_type=ServiceVisit.RepairType.FIRST_SERVICE,
            date_in=first_service_on, date_out=first_service_on, amount=Decimal("0"),
            mileage=mileage, advisor=advisor, dms_ref=f"WX{serial}-1")
        if scenario == 5:
            last = today - timedelta(days=rng.randint(215, 420))
        else:
            # periodic service due within the coming ~8 weeks (or just overdue)
            last = rules.add_months(today, -interval) + timedelta(days=rng.randint(-7, 55))
        last = max(last, first_service_on + timedelta(days=1))
        if last <= today:
            services.service_visit_record(
                vehicle=vehicle, repair_type=rng.choice([ServiceVisit.RepairType.PERIODIC_SERVICE] * 3
                                                        + [ServiceVisit.RepairType.REPAIR]),
                date_in=last, date_out=last + timedelta(days=rng.randint(0, 2)) if last < today else last,
                amount=Decimal(rng.randint(300, 3500)), mileage=mileage + rng.randint(5000, 30000),
                advisor=advisor, dms_ref=f"WX{serial}-2")
    # Insurance: yearly from delivery; the current policy expires within ~10 weeks for a third.
    if index % 3 == 1:
        expires = today + timedelta(days=rng.randint(5, 70))
    else:
        expires = today + timedelta(days=rng.randint(71, 360))
    starts = rules.add_months(expires, -12)
    services.insurance_policy_record(vehicle=vehicle, insurer=rng.choice(INSURERS), starts_on=starts,
                                     expires_on=expires, bought_here=rng.random() < 0.75,
                                     policy_no=f"PDAA{today.year}{serial}",
                                     premium=Decimal(rng.randint(3000, 12000)))

"""Demo data of the satisfaction work: six months of manufacturer CSS/CSI scores for both
stores (imported through the same service as a real file), mystery-shopper checks of the
sales consultants and service advisors, follow-up survey results, weak items, analysis
meetings and improvement plans at different PDCA steps (one closed because its item
recovered). Idempotent: a store that already has manufacturer reports is left alone."""

import csv
import io
import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from . import rules, services
from .models import (
    AnalysisMeeting,
    ImprovementPlan,
    ManufacturerReport,
    MysteryShopItem,
    WeakItem,
)

CSS_ITEMS = [("S01", "展厅接待"), ("S02", "需求分析"), ("S03", "产品介绍"), ("S04", "试乘试驾"),
             ("S05", "报价与金融方案"), ("S06", "交车过程"), ("S07", "交车后跟进"), ("S08", "整体满意度")]
CSI_ITEMS = [("A01", "预约便利"), ("A02", "接待及时"), ("A03", "维修质量"), ("A04", "一次修复"),
             ("A05", "交车准时"), ("A06", "费用透明"), ("A07", "休息区服务"), ("A08", "整体满意度")]
# Items that start weak: S06 recovers after its plan (closed as recovered), A06 and S04
# stay weak (plans in progress).
WEAK = {"S06": [-45, -35, 5, 8, 10, 12], "A06": [-30, -35, -28, -25, -22, -20],
        "S04": [10, 5, -10, -15, -20, -18], "A05": [0, 0, 0, -5, -12, -25]}
CONSULTANTS = [("sales", "consultant_zhou", "周", "杰"), ("sales", "consultant_wu", "吴", "敏"),
               ("sales", "consultant_zheng", "郑", "浩"), ("service", "advisor_sun", "孙", "磊"),
               ("service", "advisor_ma", "马", "琳")]


def seed(context):
    from .team import demo as team_demo

    team_demo.seed(context)
    out = context["stdout"]
    store, other, staff = context["store"], context["other_store"], context["staff"]
    today = context["today"]
    importer = staff.get("general_manager")
    if importer is None:
        return
    current = today.replace(day=1)
    months = rules.months_back(rules.add_months(current, -1), 6)
    _customer_base(store, staff, today, random.Random(9), out)
    if ManufacturerReport.objects.filter(store__in=[store, other]).exists():
        out.write("  satisfaction: demo scores already present")
        return
    rng = random.Random(7)
    consultants = _consultants(store)
    for index, period in enumerate(months):
        arrived = timezone.make_aware(datetime.combine(rules.add_months(period, 1) + timedelta(days=7),
                                                       time(10, 0)))
        content = _file(store, other, period, index, rng)
        services.score_import_file(actor=importer, name=f"厂家满意度{period:%Y%m}.csv",
                                   content=content, now=min(arrived, timezone.now()))
        if index == 1:
            _plan_s06(store, staff, period)
        if index < len(months) - 1:
            _hold_meetings(store, staff, period, arrived)
    _plans_in_progress(store, staff, months[-1], today)
    _mystery_checks(store, staff, consultants, months + [current], today, rng)
    for period in months:
        services.weak_items_detect_ms(store=store, period=period)
    _followup_results(store, staff, months + [current], today, rng)
    out.write(f"  satisfaction: {len(months)} months of CSS/CSI, mystery checks, weak items and "
              f"{ImprovementPlan.objects.filter(store=store).count()} improvement plans")


def _file(store, other, period, index, rng):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["门店代码", "调查", "月份", "项目代码", "项目", "得分", "区域平均", "总分",
                     "区域排名", "区域店数", "等级"])
    for target, base, grade_bias in ((store, 958 + index * 3, 0), (other, 945 + index, 1)):
        for survey, items in (("CSS", CSS_ITEMS), ("CSI", CSI_ITEMS)):
            scores = {}
            for code, _name in items:
                shift = WEAK.get(code, [0] * 6)[index] if target == store else rng.randint(-20, 10)
                scores[code] = min(1000, base + shift + rng.randint(-6, 12))
            total = round(sum(scores.values()) / len(scores), 1)
            rank = max(1, int(80 - (total - 900) * 1.2) + rng.randint(-3, 3))
            grade = "A" if total >= 960 else "B" if total >= 940 + grade_bias * 5 else "C"
            for code, name in items:
                writer.writerow([target.code, survey, f"{period:%Y-%m}", code, name, scores[code],
                                 945, total, rank, 120, grade])
    return buffer.getvalue().encode("utf-8-sig")


def _consultants(store):
    User = get_user_model()
    people = []
    for department, username, family, given in CONSULTANTS:
        user, created = User.objects.get_or_create(username=username, defaults={
            "last_name": family, "first_name": given})
        if created:
            user.set_unusable_password()
            user.save()
        user.stores.add(store)
        people.append((department, user))
    return people


def _plan_s06(store, staff, period):
    """The plan for S06 (weak in the first months); it closes itself when S06 recovers."""
    weak = WeakItem.objects.filter(store=store, survey="css", period=period, code="S06").first()
    owner = staff.get("sales_manager")
    if weak is None or owner is None:
        return
    plan = services.improvement_plan_create(
        actor=owner, store=store, title="提升交车过程满意度", department="sales", owner=owner,
        weak_item=weak, problem="交车过程得分连续三个月低于计划分。",
        breakdown="客户反映交车等待时间长、功能讲解不完整。", target_text="下月交车过程达到950分。",
        whys=["交车等待长", "交车前检查未提前完成", "PDI排在交车当天", "PDI技师排班不足",
              "没有交车预约排程"], root_cause="没有交车预约排程，PDI与交车挤在同一天。")
    services.countermeasure_add(actor=owner, plan=plan, action="交车前一天完成PDI并预约交车时段",
                                owner=owner, due_on=period + timedelta(days=40))
    for _step in range(4):
        services.improvement_plan_advance(actor=owner, plan=plan)
    services.improvement_plan_approve(actor=staff["cr_manager"], plan=plan)
    services.improvement_plan_advance(actor=owner, plan=plan)


def _hold_meetings(store, staff, period, arrived):
    chair = staff.get("cr_manager")
    for meeting in AnalysisMeeting.objects.filter(store=store, period=period,
                                                  status=AnalysisMeeting.Status.SCHEDULED):
        services.analysis_meeting_record(
            actor=chair, meeting=meeting, held_at=min(arrived + timedelta(days=2), timezone.now()),
            attendees="CR主管、销售经理、服务经理、总经理",
            minutes="逐项分析本月薄弱项及客户原话，确认各部门责任。",
            decisions="销售部、服务部三日内提交改善计划，下月报告复核。")


def _plans_in_progress(store, staff, period, today):
    owner = staff.get("service_manager")
    weak = WeakItem.objects.filter(store=store, period=period, code="A06").first()
    if owner and weak:
        plan = services.improvement_plan_create(
            actor=owner, store=store, title="费用透明度改善", department="service", owner=owner,
            weak_item=weak, problem="费用透明得分连续低于950。",
            breakdown="结算时客户对工时费和配件价格有疑问。", target_text="两个月内达到950分。",
            whys=["客户不清楚收费", "施工前未报价", "服务顾问未使用报价单", "报价单不好用", ""],
            root_cause="施工前报价流程未执行。")
        services.countermeasure_add(actor=owner, plan=plan, action="施工前打印报价单并由客户签字",
                                    owner=owner, due_on=today + timedelta(days=10))
        services.countermeasure_add(actor=owner, plan=plan, action="结算时逐项解释费用",
                                    owner=owner, due_on=today + timedelta(days=20))
        for _step in range(4):
            services.improvement_plan_advance(actor=owner, plan=plan)
        services.improvement_plan_approve(actor=staff["cr_manager"], plan=plan)
        services.improvement_plan_advance(actor=owner, plan=plan)
        services.improvement_plan_update(actor=owner, plan=plan,
                                         implementation="第一周报价单签字率 70%。")
    owner = staff.get("sales_manager")
    weak = WeakItem.objects.filter(store=store, period=period, code="S04").first()
    if owner and weak:
        plan = services.improvement_plan_create(
            actor=owner, store=store, title="试乘试驾邀请率提升", department="sales", owner=owner,
            weak_item=weak, problem="试乘试驾得分下降。", breakdown="周末试驾车不足。")
        services.improvement_plan_advance(actor=owner, plan=plan)


def _mystery_checks(store, staff, consultants, months, today, rng):
    items = {department: list(MysteryShopItem.objects.filter(department=department, store__isnull=True,
                                                             is_active=True))
             for department in ("sales", "service")}
    managers = {"sales": staff.get("sales_manager"), "service": staff.get("service_manager")}
    covert = staff.get("cr_specialist") or staff.get("cr_manager")
    for period in months:
        for department, person in consultants:
            skill = 0.82 + (sum(map(ord, person.username)) % 13) / 100
            for number, (kind, checker) in enumerate((("open", managers[department]),
                                                      ("open", managers[department]),
                                                      ("covert", covert))):
                day = period + timedelta(days=5 + number * 9)
                if checker is None or day > today:
                    continue
                results = [(item, Decimal(min(item.max_points, round(item.max_points
                                                                     * (skill + rng.uniform(-0.12, 0.12))))),
                            "") for item in items[department]]
                services.mystery_check_record(actor=checker, store=store, kind=kind,
                                              department=department, checked_on=day, staff=person,
                                              results=results)


def _followup_results(store, staff, months, today, rng):
    """Follow-up calls with outcomes and survey answers on the demo customers, so the
    follow-up rate and satisfied share have data. Needs the customers and follow-ups
    floors; skipped without them."""
    from customers.models import Customer
    from followups.models import Programme, SatisfactionAnswer, Task

    caller = staff.get("caller")
    customers = list(Customer.objects.filter(store=store).order_by("id")[:240])
    if caller is None or not customers:
        return
    tasks, answers = [], []
    for programme in Programme.objects.filter(code__in=["post_delivery_followup", "post_service_followup"]):
        step = programme.steps.filter(channel="call").first()
        if step is None:
            continue
        for month_index, period in enumerate(months):
            for n, customer in enumerate(customers[month_index * 20:month_index * 20 + 20]):
                planned = period + timedelta(days=1 + n)
                if planned >= today:
                    continue
                reached = rng.random() < 0.86
                tasks.append((Task(
                    store=store, programme=programme, programme_code=programme.code, step=step,
                    customer=customer, due_on=planned - timedelta(days=step.offset_days),
                    offset_days=step.offset_days, planned_on=planned, channel="call",
                    status="done", outcome_kind="reached" if reached else "unreachable",
                    assignee=caller, done_by=caller, attempts=1,
                    done_at=timezone.make_aware(datetime.combine(planned, time(15)))),
                    reached, planned))
    Task.objects.bulk_create([task for task, _r, _p in tasks], ignore_conflicts=True)
    saved = {(t.step_id, t.customer_id, t.due_on): t.pk for t in Task.objects.filter(
        store=store, programme_code__in=["post_delivery_followup", "post_service_followup"])}
    questions_by_programme = {}
    unhappy_left = 1  # one recent call with a dissatisfied answer shows the closed loop
    for task, reached, planned in tasks:
        if not reached:
            continue
        pk = saved.get((task.step_id, task.customer_id, task.due_on))
        questions = questions_by_programme.setdefault(
            task.programme_id, list(task.programme.questions.filter(is_active=True)))
        for question in questions:
            rating = rng.choices([5, 4, 3, 2], weights=[70, 26, 3, 1])[0]
            if unhappy_left and planned >= today - timedelta(days=5):
                rating, unhappy_left = 2, 0
            answers.append(SatisfactionAnswer(
                task_id=pk, question=question, store=store, programme_code=task.programme_code,
                department=question.department, rating=rating,
                reason="等待时间长" if rating <= 3 else "", answered_on=planned, caller=caller))
    SatisfactionAnswer.objects.bulk_create(answers, ignore_conflicts=True)
    services.survey_complaints_sweep(since=today - timedelta(days=7))


OTHER_STORE_SOURCE = "他店购车转入"
OTHER_STORE_MODELS = ["卡罗拉", "凯美瑞", "RAV4荣放", "汉兰达"]
INTEREST_MIXES = ["钓鱼、摄影", "自驾游、摄影", "高尔夫、茶艺", "跑步、自驾游", "摄影、茶艺、钓鱼"]


def _customer_base(store, staff, today, rng, out):
    """For the customer analysis: customers who bought elsewhere and are serviced here
    (one to five visits, so every loyalty tier shows), customers with several interests,
    and the reasons lapsed customers gave on recall calls. Idempotent: a store that
    already has its other-store customers is left alone."""
    from customers import services as customer_services
    from customers.models import Customer
    from customers.validators import vin_check_digit
    from followups.models import Programme, RefusalReason, Task

    from . import analysis

    if Customer.objects.filter(store=store, source=OTHER_STORE_SOURCE).exists():
        out.write("  satisfaction: customer-analysis demo already present")
        return
    advisor = staff.get("service_manager")
    if advisor is not None and not advisor.stores.filter(pk=store.pk).exists():
        advisor = None
    for index in range(14):
        born = today - timedelta(days=rng.randint(23 * 365, 62 * 365))
        customer = customer_services.customer_create(
            store=store, name=f"{'钱孙周吴郑冯陈褚卫蒋沈韩杨'[index % 13]}{'先生' if index % 2 else '女士'}",
            mobile=f"137{rng.randint(0, 99999999):08d}", source=OTHER_STORE_SOURCE,
            region=rng.choice(["浦东新区", "闵行区", "松江区"]), birth_date=born,
            hobbies=rng.choice(INTEREST_MIXES), allow_duplicate=True)
        body = f"LFV2A2{index:02d}X0PA{700000 + index:06d}"[:17]
        vin = body[:8] + vin_check_digit(body) + body[9:]
        vehicle = customer_services.vehicle_register(
            store=store, customer=customer, vin=vin, plate=f"沪B{7000 + index:04d}"[:7] + "T",
            model_name=OTHER_STORE_MODELS[index % len(OTHER_STORE_MODELS)],
            started_on=today - timedelta(days=900))
        visits = 1 + index % 5
        mileage = rng.randint(8000, 40000)
        for n in range(visits):
            day = today - timedelta(days=(visits - 1 - n) * 120 + rng.randint(1, 20))
            customer_services.service_visit_record(
                vehicle=vehicle, repair_type="periodic_service" if n else "repair", date_in=day,
                date_out=day, amount=Decimal(rng.randint(400, 2600)), mileage=mileage + n * 7000,
                advisor=advisor, dms_ref=f"WXT{index:02d}{n}")
    for customer in Customer.objects.filter(store=store, kind="private").exclude(
            source=OTHER_STORE_SOURCE).order_by("id")[:20]:
        customer_services.customer_update(customer=customer, hobbies=rng.choice(INTEREST_MIXES))
    recall = Programme.objects.get(code="lapsed_recall")
    step = recall.steps.filter(channel="call").order_by("-offset_days").first()
    reasons = list(RefusalReason.objects.filter(is_active=True))
    span = rules.parse_span(f"{today:%Y-%m}")
    lapsed = analysis.customers_behind(store, span, "service_status", "lapsed", today=today)
    caller = staff.get("caller")
    if step is not None and reasons and lapsed is not None:
        Task.objects.bulk_create([
            Task(store=store, programme=recall, programme_code=recall.code, step=step, customer=customer,
                 due_on=today - timedelta(days=10), offset_days=step.offset_days,
                 planned_on=today - timedelta(days=10 - step.offset_days), channel="call",
                 status="done", outcome_kind="refused", reason=reasons[n % len(reasons)],
                 assignee=caller, done_by=caller, attempts=1,
                 done_at=timezone.now() - timedelta(days=8))
            for n, customer in enumerate(lapsed.order_by("id")[:24])], ignore_conflicts=True)
    out.write("  satisfaction: 14 other-store customers, interests and lapse reasons for the "
              "customer analysis")

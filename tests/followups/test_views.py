"""Pages: the caller's worklist (fixed query count, htmx outcomes), manager pages."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from crm_site.roles import Role
from followups.models import Programme, Step, Task

from .factories import VehicleFactory
from .helpers import MON, at, make_calls, plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _monday_morning():
    """Sessions are timed: the whole test lives on Monday morning."""
    with time_machine.travel(at(MON, 10), tick=False):
        yield


def _worklist(client, django_assert_num_queries, queries=None):
    with time_machine.travel(at(MON, 10), tick=False):
        if queries is None:
            return client.get(reverse("followups:worklist"))
        with django_assert_num_queries(queries):
            return client.get(reverse("followups:worklist"))


def test_caller_home_is_the_worklist(client, caller):
    client.force_login(caller)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("followups:worklist")


def test_worklist_query_count_is_the_same_for_1_and_20_tasks(client, store, caller, make_user,
                                                             django_assert_num_queries):
    client.force_login(caller)
    make_calls(store, 1)
    response = _worklist(client, django_assert_num_queries)
    assert response.status_code == 200
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one, time_machine.travel(at(MON, 10), tick=False):
        client.get(reverse("followups:worklist"))
    Task.objects.all().delete()
    tasks = make_calls(store, 20)
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(assignee=caller)
    response = _worklist(client, django_assert_num_queries, queries=len(one))
    # The first car's call is planned again (its row was deleted): 21 cards.
    assert response.content.decode().count('class="card mb-2 task-card') == 21


def test_worklist_shows_the_most_urgent_calls_first_and_says_more_follow(client, store, caller,
                                                                        monkeypatch):
    from followups import views

    monkeypatch.setattr(views, "WORKLIST_CARDS", 3)
    client.force_login(caller)
    tasks = make_calls(store, 4)
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(assignee=caller)
    Task.objects.filter(pk=tasks[3].pk).update(planned_on=MON - timedelta(days=2))
    with time_machine.travel(at(MON, 10), tick=False):
        page = client.get(reverse("followups:worklist")).content.decode()
    assert page.count('class="card mb-2 task-card') == 3
    assert f'id="task-{tasks[3].pk}"' in page  # the overdue one is among those shown
    assert "处理完后刷新页面" in page
    Task.objects.filter(pk=tasks[0].pk).delete()
    with time_machine.travel(at(MON, 10), tick=False):
        page = client.get(reverse("followups:worklist")).content.decode()
    assert "处理完后刷新页面" not in page


def test_worklist_shows_overdue_first_with_script_and_progress(client, store, caller):
    tasks = make_calls(store, 2)
    Task.objects.filter(pk=tasks[1].pk).update(planned_on=MON - timedelta(days=2))
    client.force_login(caller)
    response = _worklist(client, None)
    html = response.content.decode()
    assert html.index(f'id="task-{tasks[1].pk}"') < html.index(f'id="task-{tasks[0].pk}"')
    assert "逾期" in html and tasks[0].vehicle.plate in html and 'id="progress"' in html
    assert "{name}" not in html  # the script is filled in


def test_outcome_by_htmx_updates_the_card_in_place(client, store, caller):
    [task] = make_calls(store, 1)
    client.force_login(caller)
    with time_machine.travel(at(MON, 10), tick=False):
        response = client.post(reverse("followups:task-outcome", args=[task.pk]),
                               {"outcome": "no_answer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="task-{task.pk}"' in html and 'hx-swap-oob="true"' in html
    task.refresh_from_db()
    assert task.status == "retry"
    with time_machine.travel(at(MON + timedelta(days=1), 10), tick=False):
        client.force_login(caller)
        response = client.post(reverse("followups:task-outcome", args=[task.pk]),
                               {"outcome": "refused"}, HTTP_HX_REQUEST="true")
    assert "请选择拒绝原因" in response.content.decode()


def test_other_store_task_is_404(client, store, other_store, make_user):
    [task] = make_calls(store, 1)
    stranger = make_user(Role.CALLER, other_store)
    client.force_login(stranger)
    assert client.post(reverse("followups:task-outcome", args=[task.pk]),
                       {"outcome": "reached"}).status_code == 404
    assert client.get(reverse("followups:task", args=[task.pk])).status_code == 404
    response = _worklist(client, None)
    assert f'task-{task.pk}' not in response.content.decode()


def test_manager_plan_workload_reassign_and_funnel(manager_client, store, caller, specialist):
    tasks = make_calls(store, 4)
    with time_machine.travel(at(MON, 10), tick=False):
        response = manager_client.get(reverse("followups:plan"), {"day": MON.isoformat()})
        assert response.status_code == 200 and "定保提醒" in response.content.decode()
        response = manager_client.post(reverse("followups:reassign"), {
            "task": [t.pk for t in tasks], "assignee": specialist.pk})
        assert response.status_code == 302
        assert set(Task.objects.filter(pk__in=[t.pk for t in tasks])
                   .values_list("assignee", flat=True)) == {specialist.pk}
        response = manager_client.get(reverse("followups:funnel"),
                                      {"start": MON.isoformat(), "end": MON.isoformat()})
        assert response.status_code == 200 and "定保提醒" in response.content.decode()


def test_caller_cannot_open_manager_pages(client, caller):
    from followups.models import Programme

    client.force_login(caller)
    assert client.get(reverse("followups:plan")).status_code == 403
    # The programmes are read like in the API (view_programme), without edit links.
    listing = client.get(reverse("followups:programmes"))
    assert listing.status_code == 200
    programme = Programme.objects.order_by("pk").first()
    assert reverse("followups:programme", args=[programme.pk]) not in listing.content.decode()
    assert client.get(reverse("followups:programme", args=[programme.pk])).status_code == 403


def test_manager_edits_a_step_script(manager_client):
    step = Step.objects.get(programme__code="first_service", code="call-14")
    response = manager_client.get(reverse("followups:step", args=[step.pk]))
    assert response.status_code == 200
    data = {"order": 1, "offset_days": -13, "due_within_days": 0, "channel": "call",
            "purpose": "invite", "sms_template_code": "", "sms_text": "", "script": "新话术 {name}",
            "only_until_came_in": "on", "is_active": "on"}
    response = manager_client.post(reverse("followups:step", args=[step.pk]), data)
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.offset_days, step.script) == (-13, "新话术 {name}")
    assert step.history.first().history_user.username == "crm"
    assert manager_client.get(reverse("followups:programmes")).status_code == 200
    programme = Programme.objects.get(code="first_service")
    assert manager_client.get(reverse("followups:programme", args=[programme.pk])).status_code == 200


def test_editing_a_step_passes_the_checks_of_adding_one(manager_client):
    """An edited step meets the rules of a new one: an offset beyond 400 days and an SMS
    step without its template code are refused next to their fields, nothing saved."""
    step = Step.objects.filter(programme__code="first_service", channel="call").first()
    before = (step.offset_days, step.channel, step.history.count())
    data = {"order": 1, "offset_days": 999, "due_within_days": 0, "channel": "call",
            "purpose": "invite", "sms_template_code": "", "sms_text": "", "script": "",
            "is_active": "on"}
    response = manager_client.post(reverse("followups:step", args=[step.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"offset_days": ["距N天数应在 -400 到 400 之间。"]}
    response = manager_client.post(reverse("followups:step", args=[step.pk]),
                                   {**data, "offset_days": -14, "channel": "sms"})
    assert response.status_code == 200
    assert "短信步骤须填写短信模板代码。" in response.content.decode()
    assert response.context["form"].errors
    step.refresh_from_db()
    assert (step.offset_days, step.channel, step.history.count()) == before


def test_programme_and_settings_edits_are_kept_in_history(manager_client):
    programme = Programme.objects.get(code="first_service")
    response = manager_client.post(reverse("followups:programme", args=[programme.pk]), {
        "p-name": "首保提醒（新）", "p-description": "", "p-closes_on_visit": "on",
        "p-assign_to_owner": "on", "p-is_active": "on", "p-order": 3,
        "q-TOTAL_FORMS": 1, "q-INITIAL_FORMS": 0, "q-MIN_NUM_FORMS": 0, "q-MAX_NUM_FORMS": 1000,
        "q-0-code": "wait", "q-0-text": "等待时间是否满意", "q-0-department": "service",
        "q-0-order": 1, "q-0-is_active": "on"})
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.name == "首保提醒（新）"
    assert programme.history.first().history_user.username == "crm"
    question = programme.questions.get(code="wait")
    assert question.history.first().history_user.username == "crm"
    response = manager_client.post(reverse("followups:settings"), {
        "catch_up_days": 5, "call_lookahead_days": 2, "retry_within_days": 2, "max_attempts": 4,
        "lapsed_after_days": 180, "appointment_credit_days": 7, "sms_valid_days": 3})
    assert response.status_code == 302
    from followups.models import FollowupSettings

    row = FollowupSettings.current()
    assert (row.catch_up_days, row.max_attempts) == (5, 4)
    assert row.history.first().history_user.username == "crm"


def test_campaign_and_class_pages(manager_client, store):
    with time_machine.travel(at(MON, 10), tick=False):
        response = manager_client.post(reverse("followups:campaign-create"), {
            "store": store.pk, "name": "春季召回", "date": (MON + timedelta(days=50)).isoformat(),
            "offer": "工时八折", "lapsed_days": 180})
        assert response.status_code == 302
        assert manager_client.get(response.url).status_code == 200
        response = manager_client.post(reverse("followups:class-create"), {
            "store": store.pk, "title": "冬季用车", "starts_at": "2026-12-20T14:00",
            "capacity": 10, "location": "二楼", "description": ""})
        assert response.status_code == 302
        assert manager_client.get(response.url).status_code == 200
        assert manager_client.get(reverse("followups:campaigns")).status_code == 200
        assert manager_client.get(reverse("followups:appointments")).status_code == 200


def test_manager_creates_a_programme_and_adds_and_removes_steps(manager_client, store, caller):
    response = manager_client.post(reverse("followups:programme-create"), {
        "code": "annual_check", "name": "年检提醒", "anchor": "insurance", "order": 9,
        "assign_to_owner": "on"})
    programme = Programme.objects.get(code="annual_check")
    assert response.status_code == 302 and response.url == reverse("followups:programme",
                                                                   args=[programme.pk])
    assert programme.history.first().history_user.username == "crm"
    # the same code again: a field error, nothing saved
    response = manager_client.post(reverse("followups:programme-create"), {
        "code": "annual_check", "name": "又一个", "anchor": "insurance", "order": 1})
    assert response.status_code == 200 and "代码已被其他方案使用" in response.content.decode()
    assert Programme.objects.filter(code="annual_check").count() == 1

    url = reverse("followups:step-create", args=[programme.pk])
    assert manager_client.get(url).status_code == 200
    step = {"code": "sms-20", "order": 1, "offset_days": -20, "due_within_days": 0,
            "channel": "sms", "purpose": "remind", "sms_template_code": "", "sms_text": "{name}您好",
            "script": ""}
    response = manager_client.post(url, step)
    assert response.status_code == 200 and "短信步骤须填写短信模板代码" in response.content.decode()
    assert not programme.steps.exists()
    response = manager_client.post(url, {**step, "sms_template_code": "SMS_CHECK"})
    assert response.status_code == 302
    response = manager_client.post(url, {**step, "code": "call-10", "offset_days": -10,
                                         "channel": "call", "purpose": "invite",
                                         "sms_template_code": "", "script": "您好 {name}",
                                         "only_until_came_in": "on"})
    assert response.status_code == 302
    sms, call = programme.steps.order_by("offset_days")
    assert (sms.code, call.code, call.only_until_came_in) == ("sms-20", "call-10", True)
    assert call.history.first().history_user.username == "crm"

    # a step no task refers to is deleted; one the planner used is only deactivated
    car = VehicleFactory(store=store, insurance_expires_on=MON + timedelta(days=10))
    plan(MON)
    assert Task.objects.filter(step=call, vehicle=car).exists()
    response = manager_client.post(reverse("followups:step-remove", args=[call.pk]))
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.is_active is False and Task.objects.filter(step=call).exists()
    Task.objects.filter(step=sms).delete()
    manager_client.post(reverse("followups:step-remove", args=[sms.pk]))
    assert not Step.objects.filter(pk=sms.pk).exists()
    assert Step.history.filter(id=sms.pk, history_type="-").exists()


def test_programme_pages_in_english_and_closed_to_callers(manager_client, client, caller):
    from django.conf import settings
    from django.utils import translation

    programme = Programme.objects.get(code="first_service")
    assert "新建提醒方案" in manager_client.get(reverse("followups:programme-create")).content.decode()
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    try:
        page = manager_client.get(reverse("followups:programme-create"))
        assert page.status_code == 200 and "New reminder programme" in page.content.decode()
        page = manager_client.get(reverse("followups:step-create", args=[programme.pk]))
        assert "Add a step" in page.content.decode()
    finally:  # the middleware leaves the request's language active in this thread
        del manager_client.cookies[settings.LANGUAGE_COOKIE_NAME]
        translation.activate(settings.LANGUAGE_CODE)
    client.force_login(caller)
    assert client.get(reverse("followups:programme-create")).status_code == 403
    step = programme.steps.first()
    assert client.post(reverse("followups:step-remove", args=[step.pk])).status_code == 403
    step.refresh_from_db()
    assert step.is_active


def test_plan_page_says_when_the_last_night_finished_and_warns_when_today_has_not(
        manager_client, store, caller):
    from django.conf import settings
    from django.utils import translation

    page = manager_client.get(reverse("followups:plan")).content.decode()
    assert "今天的夜间计划还没有完成" in page  # it never ran
    make_calls(store, 2)  # Monday's night, at 01:00
    page = manager_client.get(reverse("followups:plan")).content.decode()
    assert "最近一次夜间计划：2026-11-23，2026-11-23 01:00 完成" in page
    assert "今天的夜间计划还没有完成" not in page
    from followups.models import PlannerRun

    PlannerRun.objects.update(day=MON - timedelta(days=1))  # as if Monday's had not run
    manager_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    try:
        page = manager_client.get(reverse("followups:plan")).content.decode()
    finally:
        del manager_client.cookies[settings.LANGUAGE_COOKIE_NAME]
        translation.activate(settings.LANGUAGE_CODE)
    assert "Latest night plan: 2026-11-22, finished 2026-11-23 01:00" in page
    assert "Today's night plan has not finished" in page


def test_plan_page_query_count_is_the_same_for_2_and_20_calls(manager_client, store, caller,
                                                              django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_calls(store, 2)
    with CaptureQueriesContext(connection) as two:
        assert manager_client.get(reverse("followups:plan")).status_code == 200
    make_calls(store, 18, day=MON)
    for _night in range(3):  # more nights recorded do not add queries either
        plan(MON)
    with django_assert_num_queries(len(two)):
        page = manager_client.get(reverse("followups:plan")).content.decode()
    assert page.count('name="task" value=') == 20

"""Pages name things in the reader's words: roles, message purposes and the landing of a
general manager over several stores."""

import pytest
from django.conf import settings

from crm_site.roles import Role
from crm_site.services import message_queue

pytestmark = pytest.mark.django_db


def test_staff_page_names_roles_in_the_readers_language(client, store, make_user):
    manager = make_user(Role.CR_MANAGER, store, username="wang")
    make_user(Role.LOUNGE_ATTENDANT, store, username="liu")
    client.force_login(manager)
    page = client.get("/staff/").content.decode()
    assert "吧台服务员" in page and "CR主管" in page
    assert ">lounge_attendant<" not in page and ">cr_manager<" not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/staff/").content.decode()
    assert ">lounge_attendant<" not in page and "吧台服务员" not in page


def test_outbox_names_the_reminder_a_message_belongs_to(client, store, make_user):
    message_queue(store=store, recipient="13800000000", template_code="SMS_1", text="提醒",
                  purpose="lapsed_recall:sms-30")
    message_queue(store=store, recipient="13800000001", template_code="SMS_2", text="生日快乐",
                  purpose="staff_greeting")
    client.force_login(make_user(Role.CR_MANAGER, store, username="wang"))
    page = client.get("/messages/").content.decode()
    assert "lapsed_recall" not in page and "staff_greeting" not in page
    assert "流失客户召回 N-30" in page
    assert "员工祝福" in page


def test_general_manager_of_several_stores_lands_on_their_comparison(client, store, other_store,
                                                                       make_user):
    client.force_login(make_user(Role.GENERAL_MANAGER, store, other_store))
    assert client.get("/").url == "/satisfaction/group/"


def test_general_manager_of_one_store_lands_on_its_dashboard(client, store, make_user):
    client.force_login(make_user(Role.GENERAL_MANAGER, store))
    assert client.get("/").url == "/satisfaction/"

"""Changing staff follows one rule (crm_site.roles.staff_change_refusal), written here as
the attack the audit found: a CR manager of one store tries to deactivate the group's
general manager, to take the general manager's other stores away, and to grant the
general-manager role to a colleague and to herself. Each attempt is refused through the
page and through the service (what any staff API would call), and nothing changes."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from crm_site import services
from crm_site.roles import Role, grantable_roles, staff_change_refusal

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def people(make_user, store, other_store):
    return {
        "manager": make_user(Role.CR_MANAGER, store, username="crm-a"),
        "gm": make_user(Role.GENERAL_MANAGER, store, other_store, username="gm"),
        "local_gm": make_user(Role.GENERAL_MANAGER, store, username="gm-a"),
        "caller": make_user(Role.CALLER, store, username="caller-a"),
        "both": make_user(Role.CALLER, store, other_store, username="caller-ab"),
    }


def _form(user, **changes):
    data = {"last_name": user.last_name, "first_name": user.first_name, "mobile": "",
            "email": "", "birthday": "", "is_active": "on",
            "stores": [s.pk for s in user.stores.all()], "roles": sorted(user.role_codes)}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _state(user):
    user = User.objects.get(pk=user.pk)
    return (user.is_active, sorted(user.stores.values_list("code", flat=True)),
            sorted(user.role_codes))


@pytest.fixture
def as_manager(client, people):
    client.force_login(people["manager"])
    return client


def test_a_cr_manager_cannot_deactivate_the_general_manager(as_manager, people):
    gm = people["gm"]
    before = _state(gm)
    assert as_manager.get(f"/staff/{gm.pk}/").status_code == 403
    response = as_manager.post(f"/staff/{gm.pk}/", _form(gm, is_active=None))
    assert response.status_code == 403
    assert _state(gm) == before and before[0] is True
    # nor a general manager of her own store alone: the role is above hers
    local = people["local_gm"]
    assert as_manager.post(f"/staff/{local.pk}/", _form(local, is_active=None)).status_code == 403
    assert User.objects.get(pk=local.pk).is_active


def test_a_cr_manager_cannot_take_the_general_managers_other_stores(as_manager, people, store):
    gm = people["gm"]
    assert as_manager.post(f"/staff/{gm.pk}/", _form(gm, stores=[store.pk])).status_code == 403
    assert _state(gm)[1] == ["store-a", "store-b"]
    # the same for anyone who also works for a store she does not manage
    both = people["both"]
    assert as_manager.post(f"/staff/{both.pk}/", _form(both, stores=[store.pk])).status_code == 403
    assert _state(both)[1] == ["store-a", "store-b"]


def test_a_cr_manager_cannot_grant_the_general_manager_role(as_manager, people, store):
    caller = people["caller"]
    response = as_manager.post(f"/staff/{caller.pk}/",
                               _form(caller, roles=[Role.CALLER, Role.GENERAL_MANAGER]))
    assert response.status_code == 200 and "roles" in response.context["form"].errors
    assert _state(caller)[2] == ["caller"]
    response = as_manager.post("/staff/new/", {
        "username": "newgm", "last_name": "周", "first_name": "敏", "password": "Long-enough-pass-1",
        "stores": [store.pk], "roles": [Role.GENERAL_MANAGER]})
    assert response.status_code == 200 and "roles" in response.context["form"].errors
    assert not User.objects.filter(username="newgm").exists()
    assert 'value="general_manager"' not in as_manager.get("/staff/new/").content.decode()


def test_a_cr_manager_cannot_raise_her_own_role(as_manager, people):
    me = people["manager"]
    for extra in (Role.GENERAL_MANAGER, Role.SALES_MANAGER):
        response = as_manager.post(f"/staff/{me.pk}/", _form(me, roles=[Role.CR_MANAGER, extra]))
        assert response.status_code == 200 and "roles" in response.context["form"].errors
        assert _state(me)[2] == ["cr_manager"]


def test_the_service_refuses_the_same_whatever_calls_it(people, store, other_store):
    manager, gm, caller = people["manager"], people["gm"], people["caller"]
    attempts = [
        lambda: services.staff_update(actor=manager, user=gm, stores=[store, other_store],
                                      roles=[Role.GENERAL_MANAGER], is_active=False),
        lambda: services.staff_update(actor=manager, user=gm, stores=[store],
                                      roles=[Role.GENERAL_MANAGER]),
        lambda: services.staff_update(actor=manager, user=caller, stores=[store],
                                      roles=[Role.GENERAL_MANAGER]),
        lambda: services.staff_update(actor=manager, user=manager, stores=[store],
                                      roles=[Role.CR_MANAGER, Role.GENERAL_MANAGER]),
        lambda: services.staff_create(actor=manager, username="x", password="Long-enough-pass-1",
                                      stores=[store], roles=[Role.GENERAL_MANAGER]),
        lambda: services.staff_update(actor=caller, user=caller, stores=[store],
                                      roles=[Role.CR_MANAGER]),
    ]
    before = [_state(user) for user in (manager, gm, caller)]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert [_state(user) for user in (manager, gm, caller)] == before
    assert not User.objects.filter(username="x").exists()


def test_what_stays_allowed(client, as_manager, people, store, other_store):
    caller = people["caller"]
    response = as_manager.post(f"/staff/{caller.pk}/", _form(caller, roles=[Role.CR_SPECIALIST]))
    assert response.status_code == 302
    assert _state(caller)[2] == ["cr_specialist"]
    assert as_manager.post(f"/staff/{caller.pk}/", _form(caller, is_active=None)).status_code == 302
    assert not User.objects.get(pk=caller.pk).is_active
    me = people["manager"]  # taking a role away from oneself is not raising it
    assert services.staff_update(actor=me, user=me, stores=[store], roles=[Role.CR_MANAGER])
    # the group's general manager changes anyone of her stores, and grants her own role
    client.force_login(people["gm"])
    both = people["both"]
    response = client.post(f"/staff/{both.pk}/",
                           _form(both, roles=[Role.GENERAL_MANAGER], stores=[other_store.pk]))
    assert response.status_code == 302
    assert _state(both) == (True, ["store-b"], ["general_manager"])


def test_the_staff_list_links_only_to_colleagues_she_may_change(as_manager, people):
    body = as_manager.get("/staff/").content.decode()
    assert f'href="/staff/{people["caller"].pk}/"' in body
    assert f'href="/staff/{people["gm"].pk}/"' not in body and "gm" in body
    assert f'href="/staff/{people["both"].pk}/"' not in body


def test_the_rule(people, store):
    manager, gm, caller = people["manager"], people["gm"], people["caller"]
    low = {Role.CALLER, Role.CR_SPECIALIST, Role.LOUNGE_ATTENDANT}
    middle = low | {Role.CR_MANAGER, Role.SALES_MANAGER, Role.SERVICE_MANAGER}
    assert grantable_roles(manager) == middle
    assert grantable_roles(gm) == set(Role.values)
    assert grantable_roles(caller) == set()
    assert staff_change_refusal(manager, caller, roles=[Role.CR_SPECIALIST]) is None
    assert staff_change_refusal(manager, None, roles=[Role.SALES_MANAGER]) is None
    assert staff_change_refusal(manager, None, roles=[Role.GENERAL_MANAGER])
    assert staff_change_refusal(manager, gm)
    assert staff_change_refusal(manager, people["local_gm"])
    assert staff_change_refusal(manager, people["both"])
    assert staff_change_refusal(manager, manager, roles=[Role.CR_MANAGER, Role.CALLER])
    assert staff_change_refusal(manager, manager, roles=[Role.CR_MANAGER]) is None
    assert staff_change_refusal(gm, people["both"], roles=[Role.GENERAL_MANAGER]) is None
    assert staff_change_refusal(caller, caller)

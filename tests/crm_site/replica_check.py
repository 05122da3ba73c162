"""Run by tests/crm_site/test_replica.py in a site process whose DATABASE_URL is a private
primary and DATABASE_REPLICA_URL its streaming replica (`manage.py shell < this file`).
Prints REPLICA-CHECK-OK when every expectation holds."""

import time

from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm_site.models import DealerGroup, Store, User
from crm_site.replica import using_replica
from crm_site.roles import Role
from crm_site.services import store_create

with connections["replica"].cursor() as cursor:
    cursor.execute("SELECT pg_is_in_recovery()")
    assert cursor.fetchone()[0] is True, "the replica is not a standby"

store = store_create(group=DealerGroup.objects.create(name="集团"), code="s1", name="一店",
                     sms_sign_name="一店")
user = User.objects.create_user(username="gm", password="Secret-pass-42")
user.groups.add(Group.objects.get(name=Role.GENERAL_MANAGER))
user.stores.add(store)
deadline = time.monotonic() + 30
while not User.objects.using("replica").filter(pk=user.pk).exists():
    assert time.monotonic() < deadline, "the replica did not catch up"
    time.sleep(0.1)

client = Client()
client.force_login(user)
with CaptureQueriesContext(connections["default"]) as primary, \
        CaptureQueriesContext(connections["replica"]) as replica:
    response = client.get("/satisfaction/")
assert response.status_code == 200, response.status_code
replica_sql = " ".join(query["sql"] for query in replica.captured_queries)
primary_sql = " ".join(query["sql"] for query in primary.captured_queries)
assert "satisfaction_" in replica_sql, "the dashboard did not read from the replica"
assert "satisfaction_" not in primary_sql, f"the dashboard read the primary: {primary_sql[:500]}"

# A page that is not marked reads the primary.
with CaptureQueriesContext(connections["replica"]) as replica:
    assert client.get("/customers/").status_code == 200
assert replica.captured_queries == []

# Inside a mark: a read before any write from the replica; a write, and the read of the
# same record right after it, on the primary (the replica may not have it yet).
with using_replica():
    with CaptureQueriesContext(connections["replica"]) as replica:
        assert Store.objects.get(pk=store.pk).name == "一店"
    assert len(replica.captured_queries) == 1
    with CaptureQueriesContext(connections["default"]) as primary, \
            CaptureQueriesContext(connections["replica"]) as replica:
        Store.objects.filter(pk=store.pk).update(name="一店（新）")
        assert Store.objects.get(pk=store.pk).name == "一店（新）"
    assert replica.captured_queries == []
    assert len(primary.captured_queries) == 2
print("REPLICA-CHECK-OK")

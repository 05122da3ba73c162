"""The role-by-action matrix (docs/access-matrix.csv) is what the roles are granted, and
every cell holds through the pages and the API alike.

Each row of the matrix becomes tests here: one that compares its "yes" cells with the
permissions the data migrations gave each role, and one per channel (page, API) that
signs in as each role of store A and sends the row's requests. Allowed: the request gets
past the permission check (2xx or 3xx; 400 when the empty body sent is then refused as
bad input). Denied: 403 (405 for actions nobody is offered, such as deleting a customer).
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from crm_site import access

CELLS = access.load()
ALLOWED = set(range(200, 400)) | {400}
DENIED = {403, 404}  # 404: a role that may not see the record type is not told it exists
PLACEHOLDER = re.compile(r"\{([^}]+)\}")

pytestmark = pytest.mark.django_db


def _ids(cell):
    return cell.key.replace(" ", "-")


def resolve(world, url, store=None):
    """Fill {app.Model}, {app.Model.attribute} and {staff:role} from the world's rows."""
    def value(match):
        token = match.group(1)
        if token.startswith("staff:"):
            staff = world.staff if store in (None, world.store) else world.other_staff
            return str(staff[token.split(":", 1)[1]].pk)
        parts = token.split(".")
        label, attribute = ".".join(parts[:2]), (parts[2] if len(parts) > 2 else "pk")
        row = world.row(label, store)
        assert row is not None, f"the access world has no {label} in {store}: add one in world.py"
        return str(getattr(row, attribute))
    return PLACEHOLDER.sub(value, url)


def send(client, method, url, api):
    """The request with an empty body, in a savepoint: what one role does is undone
    before the next role tries."""
    with transaction.atomic():
        if api:
            response = client.generic(method, url, data="{}", content_type="application/json",
                                      HTTP_ACCEPT="application/json")
            if response.status_code == 415:  # an upload endpoint: an empty form instead
                response = client.generic(method, url, data=encode_multipart(BOUNDARY, {}),
                                          content_type=MULTIPART_CONTENT)
        else:
            response = client.generic(method, url, data="",
                                      content_type="application/x-www-form-urlencoded")
        transaction.set_rollback(True)
    return response


@pytest.fixture(scope="package")
def clients(world):
    """One signed-in client per role of store A."""
    out = {}
    for role in access.ROLES:
        out[role] = Client()
        out[role].force_login(world.staff[role])
    return out


@pytest.fixture(scope="module")
def role_permissions(world):
    out = {}
    for role in access.ROLES:
        group = Group.objects.get(name=role)
        out[role] = {f"{p.content_type.app_label}.{p.codename}"
                     for p in group.permissions.select_related("content_type")}
    return out


def test_matrix_file_is_well_formed():
    keys = [cell.key for cell in CELLS]
    assert len(keys) == len(set(keys)), "a (record type, action) appears twice"
    for cell in CELLS:
        assert cell.permission in (access.ANYONE, access.NOBODY) or all(
            re.fullmatch(r"\w+\.\w+", p) for p in cell.permission.split("|")), cell.key


@pytest.mark.parametrize("cell", CELLS, ids=_ids)
def test_matrix_states_what_the_roles_are_granted(cell, role_permissions):
    wrong = {role: cell.allows(role) for role in access.ROLES
             if access.role_grants(role_permissions[role], cell) != cell.allows(role)}
    assert not wrong, f"{cell.key}: the matrix says {wrong}, the role permissions say otherwise"


def _try(world, clients, cell, channel):
    requests = cell.page if channel == "page" else cell.api
    if not requests:
        pytest.skip(f"no {channel} performs this action")
    failures = []
    for role in access.ROLES:
        client = clients[role]
        allowed = cell.allows(role)
        denied = DENIED | ({405} if cell.permission == access.NOBODY else set())
        for method, template in requests:
            url = resolve(world, template)
            status = send(client, method, url, channel == "api").status_code
            if (allowed and status not in ALLOWED) or (not allowed and status not in denied):
                failures.append(f"{role} {method} {url}: {status}, expected "
                                f"{'allowed' if allowed else 'denied'}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("cell", CELLS, ids=_ids)
def test_page(cell, world, clients):
    _try(world, clients, cell, "page")


@pytest.mark.parametrize("cell", CELLS, ids=_ids)
def test_api(cell, world, clients):
    _try(world, clients, cell, "api")


def test_access_document_is_rendered_from_the_matrix():
    text = access.DOC_PATH.read_text(encoding="utf-8")
    assert access.render_document(text, CELLS) == text, \
        "docs/access.md is out of date: run `python manage.py access_matrix --write`"

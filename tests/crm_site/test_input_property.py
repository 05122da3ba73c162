"""Property-based: whatever a member of staff types into any page (every query parameter
the pages read, every field of every form they show), the site answers without a server
error, and a write it refuses leaves no row behind. The pages and their forms are found
by walking the URL configuration and reading the HTML, so pages added later are covered
without touching this file."""

from datetime import date
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_site.roles import Role
from tests.customers.factories import make_customer, make_vehicle

pytestmark = pytest.mark.django_db

# Query parameters the pages read by hand or through their filter forms.
QUERY_NAMES = ["start", "end", "day", "week", "period", "q", "page", "store", "status",
               "per_page", "programme", "assignee", "customer", "survey", "kind", "staff",
               "breakdown", "key", "format", "rating", "reached", "weak_item", "without_plan",
               "mine", "sort", "due", "within", "lapsed", "inactive", "owner", "export_page"]

# What an attacker or a slip of the hand sends: control characters, the edges of the
# calendar, numbers beyond any column, a megabyte of text.
NASTY = st.one_of(
    st.text(max_size=30),
    st.dates().map(date.isoformat),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "-1", "1", "0001-01-01", "9999-12-31", "1899-12-31", "2026-05",
                     "2026-Q2", "9999", "9999-12", "\x00", "a\x00b", "\x1b[0m", "1e309", "NaN",
                     "x" * 5000, "长" * 5000]),
)

# Pages whose form would end the session the other examples run in.
NOT_POSTED = ("/accounts/logout/",)
# How a page shows that it refused what was posted.
REFUSED_MARKS = (b"errorlist", b"is-invalid", b"invalid-feedback", b"alert-danger")

# Examples per page and per form: a few, derandomized, so the run stays short.
EXAMPLES = 4


def _page_routes():
    """Every page URL with no argument, or with only integer ids (filled with `pk`)."""
    found = []

    def walk(patterns, prefix):
        for each in patterns:
            route = prefix + str(each.pattern)
            if route.startswith(("api/", "admin/", "media/", "i18n/", "accounts/")):
                continue
            if isinstance(each, URLResolver):
                walk(each.url_patterns, route)
            elif isinstance(each, URLPattern):
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return sorted(route for route in found
                  if "<" not in route.replace("<int:", "") and "^" not in route)


def _url(route, pk):
    parts, rest = [], route
    while "<int:" in rest:
        before, _sep, after = rest.partition("<int:")
        parts.append(before + str(pk))
        rest = after.partition(">")[2]
    return "/" + "".join(parts) + rest


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields (name -> the values offered)."""

    def __init__(self):
        super().__init__()
        self.forms, self.current, self.select = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.current = {"action": attrs.get("action") or "", "fields": {}}
            self.forms.append(self.current)
        elif self.current is None or not attrs.get("name"):
            return
        elif tag == "input" and attrs.get("type") not in ("file", "submit", "button"):
            self.current["fields"].setdefault(attrs["name"], []).append(attrs.get("value") or "")
        elif tag == "textarea":
            self.current["fields"].setdefault(attrs["name"], [""])
        elif tag == "select":
            self.select = self.current["fields"].setdefault(attrs["name"], [])
        if tag == "option" and self.select is not None:
            self.select.append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


@pytest.fixture
def site(client, make_user, store, other_store):
    manager = make_user(Role.GENERAL_MANAGER, store, other_store, username="gm")
    customer = make_customer(store)
    make_vehicle(customer)
    client.force_login(manager)
    return client, customer.pk


PER_PAGE = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("route", _page_routes())
def test_no_query_parameter_of_any_page_answers_a_server_error(site, route):
    client, pk = site

    @PER_PAGE
    @given(params=st.dictionaries(st.sampled_from(QUERY_NAMES), NASTY, max_size=4))
    def ask(params):
        response = client.get(_url(route, pk), params)
        assert response.status_code < 500, (route, params)

    ask()


@pytest.fixture
def page_forms(site):
    """Every POST form shown by a page (the customer's pages with their id)."""
    client, pk = site
    forms = []
    for route in _page_routes():
        url = _url(route, pk)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            action = urljoin(url, form["action"]) if form["action"] else url
            if form["fields"] and action not in NOT_POSTED:
                forms.append((action, form["fields"]))
    return forms


def _value(options):
    offered = [each for each in options if each]
    return st.one_of(st.sampled_from(offered), NASTY) if offered else NASTY


def test_no_form_of_any_page_answers_a_server_error_or_half_saves(site, page_forms, row_count):
    client, _pk = site
    for action, fields in page_forms:

        @PER_PAGE
        @given(values=st.fixed_dictionaries({name: _value(options)
                                             for name, options in fields.items()}))
        def post(values):
            before = row_count()
            response = client.post(action, values)
            assert response.status_code < 500, (action, values)
            refused = response.status_code == 400 or (
                response.status_code == 200
                and any(mark in response.content for mark in REFUSED_MARKS))
            if refused:
                assert row_count() == before, (action, values)

        post()

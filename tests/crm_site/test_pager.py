"""One pager for every list page, and its next page keeps the list's filters."""

import re
from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
PAGER = "crm_site/partials/pager.html"


def test_next_and_previous_keep_every_filter():
    request = RequestFactory().get("/complaints/", {"status": "open", "department": "service",
                                                    "q": "刹车 异响", "page": "2"})
    page = Paginator(range(200), 50).get_page(2)
    html = render_to_string(PAGER, {"page": page, "request": request})
    links = re.findall(r'href="([^"]+)"', html)
    assert len(links) == 2
    for link, number in zip(links, ("1", "3"), strict=True):
        query = link.replace("&amp;", "&")
        assert "status=open" in query and "department=service" in query
        assert "q=%E5%88%B9%E8%BD%A6+%E5%BC%82%E5%93%8D" in query
        assert query.count("page=") == 1 and f"page={number}" in query


def test_a_second_pager_on_a_page_keeps_the_first_ones_page():
    request = RequestFactory().get("/customers/reveals/", {"page": "3"})
    page = Paginator(range(200), 50).get_page(1)
    html = render_to_string(PAGER, {"page": page, "request": request, "param": "export_page",
                                    "anchor": "#exports"})
    link = re.search(r'href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "page=3" in link and "export_page=2" in link and link.endswith("#exports")


def test_every_list_page_uses_the_one_pager():
    """No page writes its own page links: a hand-made `?page=` would drop the filters."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if path.relative_to(TEMPLATES).as_posix() == PAGER:
            continue
        if re.search(r"page=\{\{|page_number", text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []

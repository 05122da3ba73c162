"""Every page of every role works on the demo data: each demo member of staff signs in,
in Chinese and in English, and opens every page reachable from the menus and from the
pages those lead to. No page fails, nothing is fetched from another host, every image,
script and style loads, the console stays clean (CSP included), no link shown answers
403 or 404, and no internal code is shown where a label belongs.

To stay within a few minutes: one URL of each URL pattern (with real ids) for each member
of staff; the first who reaches a pattern opens it in the browser, those after them check
its answer and follow its links without rendering it again. In English, whose pages
differ only in their words, each pattern is opened once in all."""

import html
import io
import re
from collections import Counter, defaultdict
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import Resolver404, resolve

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"
ROLES = ["cr_manager", "caller", "cr_specialist", "lounge_attendant", "sales_manager",
         "service_manager", "general_manager", "admin"]
LANGUAGES = ["zh-hans", "en"]
PER_ROLE = 1              # URLs of one URL pattern each member of staff opens
ADMIN_PAGES = 40          # the admin site is the framework's: a bounded look only
APPS = {"crm_site", "customers", "followups", "complaints", "inspections", "satisfaction"}
# Words that are codes and also plain English, or appear as data rather than labels.
ALLOWED_WORDS = {"admin"}


def internal_codes():
    """The codes of every choice field of the project, every role and programme code."""
    from crm_site.roles import Role
    from followups.models import Programme

    codes = set(Programme.objects.values_list("code", flat=True)) | set(Role.values)
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in APPS:
            continue
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str):
                    codes.add(str(value))
    return {code for code in codes if re.fullmatch(r"[a-z][a-z0-9_.]+", code)} - ALLOWED_WORDS


def codes_shown(text, codes, language):
    """Codes standing as whole words in the page's text. English pages are checked for
    the codes no English sentence holds (with an underscore or a dot). A {placeholder} of
    an SMS template is the template's text, not a label."""
    words = set(re.findall(r"(?<![\w.@/{-])[a-z][a-z0-9_.]*[a-z0-9](?![\w@/}-])", text))
    found = words & codes
    if language == "en":
        found = {word for word in found if "_" in word or "." in word}
    return found


# The page's visible text, leaving out what HTML marks as not to be translated (data
# such as user names, which may happen to read like a code). Read last: it edits the page.
VISIBLE_LABELS = """() => {
  document.querySelectorAll('[translate=no]').forEach(e => e.remove());
  return document.body.innerText;
}"""


def pattern_of(path):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


class Crawl:
    """One member of staff in one language, walking their pages and noting problems."""

    def __init__(self, browser, base, username, language, codes, rendered):
        self.base, self.username, self.language, self.codes = base, username, language, codes
        self.host = urlsplit(base).netloc
        self.rendered = rendered
        self.context = browser.new_context(viewport={"width": 1366, "height": 768})
        self.context.add_cookies([{"name": "crm_language", "value": language, "url": base}])
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.problems = []
        self.current = ""
        self.page.on("request", self.on_request)
        self.page.on("response", self.on_response)
        self.page.on("requestfailed", self.on_failed)
        self.page.on("console", self.on_console)
        self.page.on("pageerror", lambda error: self.note(f"script error: {error}"))

    def note(self, problem):
        self.problems.append(f"{self.current}: {problem}")
        print("PROBLEM", self.username, self.language, self.problems[-1], flush=True)

    def on_request(self, request):
        if request.url.startswith(("data:", "blob:")):
            return
        if urlsplit(request.url).netloc != self.host:
            self.note(f"request to another host: {request.url}")

    def on_response(self, response):
        if response.status >= 500:
            self.note(f"{response.status} from {response.url}")
        elif response.status >= 400 and response.request.resource_type != "document":
            self.note(f"{response.status} for {response.request.resource_type} {response.url}")

    def on_failed(self, request):
        if request.resource_type != "document":
            self.note(f"{request.resource_type} failed: {request.url} ({request.failure})")

    def on_console(self, message):
        if message.type == "error":
            self.note(f"console error: {message.text}")

    def sign_in(self):
        self.current = "/accounts/login/"
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.fill("#id_username", self.username)
        self.page.fill("#id_password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        assert "/accounts/login/" not in self.page.url, f"{self.username} could not sign in"
        self.landing = urlsplit(self.page.url).path
        self.landing_figures = [text for text in self.page.locator(
            "[data-testid=group-table] td.text-end").all_inner_texts() if re.search(r"\d", text)]

    def allowed(self, url):
        path = urlsplit(url).path
        if path.startswith(("/accounts/logout", "/i18n/", "/api/", "/media/")):
            return False
        if path.startswith("/admin/"):
            return self.username == "admin" and "/delete/" not in path \
                and "/history/" not in path and not path.startswith("/admin/logout")
        return True

    def run(self):
        self.sign_in()
        start = self.page.url
        queue, seen, admin_pages, visited = [start], {start}, 0, 0
        per_role = Counter()
        while queue:
            url = queue.pop(0)
            name = pattern_of(urlsplit(url).path)
            if name and name.startswith("admin:"):
                admin_pages += 1
                if admin_pages > ADMIN_PAGES:
                    continue
            if url == start or name not in self.rendered:
                self.rendered.add(name)
                links = self.visit(url)
            else:
                links = self.check(url)
            visited += 1
            for link in links:
                link = urldefrag(urljoin(url, link))[0]
                parts = urlsplit(link)
                if parts.netloc != self.host or link in seen or not self.allowed(link):
                    continue
                seen.add(link)
                name = pattern_of(parts.path) or parts.path
                if per_role[name] >= PER_ROLE or (self.language == "en" and name in self.rendered):
                    continue
                per_role[name] += 1
                queue.append(link)
        self.context.close()
        return visited

    def opened(self, url):
        query = urlsplit(url).query
        self.current = urlsplit(url).path + (f"?{query}" if query else "")

    def check(self, url):
        """A page another member of staff already opened in the browser: its answer to this
        one, and its links to follow."""
        self.opened(url)
        response = self.context.request.get(url)
        if response.status >= 400:
            self.note(f"link shown answered {response.status}")
            return []
        if urlsplit(response.url).netloc != self.host or \
                "text/html" not in response.headers.get("content-type", ""):
            return []
        return [html.unescape(link) for link in re.findall(r'<a [^>]*href="([^"]+)"',
                                                              response.text())]

    def visit(self, url):
        """Open the page in the browser: its answer, what it loads, what it shows."""
        self.opened(url)
        try:
            response = self.page.goto(url, wait_until="load")
        except Exception as error:  # noqa: BLE001 - a file download is not a page
            if "Download is starting" not in str(error):
                self.note(f"could not open: {error}")
                return []
            status = self.page.request.get(url).status
            if status >= 400:
                self.note(f"download answered {status}")
            return []
        status = response.status if response else 0
        if status >= 400:
            self.note(f"link shown answered {status}")
            return []
        if urlsplit(self.page.url).netloc != self.host:
            return []
        # Requests htmx makes as the page opens are part of the page.
        self.page.wait_for_function("!document.querySelector('.htmx-request')")
        links = self.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        # The admin site shows rows as they are stored, codes included: not checked.
        admin = urlsplit(self.page.url).path.startswith("/admin/")
        shown = not admin and codes_shown(self.page.evaluate(VISIBLE_LABELS), self.codes,
                                          self.language)
        if shown:
            self.note(f"codes shown as text: {', '.join(sorted(shown))}")
        return links


def test_every_page_of_every_role_works_on_the_demo_data(live_server, browser):
    call_command("seed_demo", stdout=io.StringIO())
    codes = internal_codes()
    problems, pages, rendered = defaultdict(list), {}, {language: set() for language in LANGUAGES}
    for username in ROLES:
        for language in LANGUAGES:
            crawl = Crawl(browser, live_server.url, username, language, codes, rendered[language])
            pages[username, language] = crawl.run()
            problems[username, language] = crawl.problems
            if username == "general_manager" and language == "zh-hans":
                manager = crawl
    report = "\n".join(f"{user} ({language}): {problem}"
                       for (user, language), found in problems.items() for problem in found)
    assert not report, f"{len(report.splitlines())} problems:\n{report}"
    assert all(count > 5 for (_user, language), count in pages.items() if language != "en"), \
        pages
    # The general manager of the demo's two stores lands on their comparison, with figures.
    assert manager.landing == "/satisfaction/group/"
    assert len(manager.landing_figures) >= 5, manager.landing_figures

"""A CR manager imports a 10,000-row customer export in a real browser, checked by a real
Celery worker: the page shows the job's progress, survives a reload while the job runs,
and ends with the counts and a downloadable sheet of the bad rows (nothing is saved)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.db import connection

from crm_site.celery import app
from crm_site.models import ImportJob
from customers.models import Customer

from ..browser import shot, sign_in
from ..imports import xlsx_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 10_000
BAD = {17: "12345", 4321: "2345678901", 9999: "abc"}  # data row index -> bad mobile


@pytest.fixture
def worker_queue():
    """A worker process on the queue import jobs are routed to (and the default one) of
    the real Redis broker (the test run's own Redis database), on the test database."""
    queue = app.amqp.router.route({}, "crm_site.tasks.import_job_run")["queue"].name
    db = connection.settings_dict
    env = {**os.environ,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm_site", "worker", "--pool", "solo",
         "--queues", f"{app.conf.task_default_queue},{queue}", "--loglevel", "INFO",
         "--without-mingle", "--without-gossip"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield queue
    process.terminate()
    print(process.communicate(timeout=30)[0].decode(errors="replace")[-3000:])


@pytest.fixture
def export_file(tmp_path):
    rows = [["姓名", "手机", "性别", "来源渠道"]]
    for n in range(ROWS):
        rows.append([f"客户{n}", BAD.get(n, f"137{n:08d}"), "男" if n % 2 else "女", "DMS"])
    path = tmp_path / "dms-customers.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    return path


def _state(page):
    return page.locator("#import-status").get_attribute("data-status")


def _percent(page):
    return int(page.locator("#import-status [role=progressbar]").get_attribute("aria-valuenow"))


def test_a_big_import_shows_progress_survives_a_reload_and_lists_its_bad_rows(
        live_server, device_page, staff, worker_queue, export_file, monkeypatch):
    assert settings.REDIS_URL.startswith("redis://"), "the journey runs against real Redis"
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    page = device_page
    sign_in(page, live_server.url, "crm")
    page.goto(f"{live_server.url}/imports/")
    page.select_option("#id_kind", "customers")
    page.set_input_files("#id_file", str(export_file))
    with page.expect_navigation():
        page.click("[data-testid=import-form] button[type=submit]")
    job = ImportJob.objects.get()
    assert page.url.endswith(f"/imports/{job.pk}/")

    # The worker reads the file and checks it batch by batch; the bar moves (on a fast
    # machine the check may end between two polls: then the page shows the end at once).
    page.wait_for_function(
        "() => { const s = document.querySelector('#import-status');"
        " const bar = s.querySelector('[role=progressbar]');"
        " return s.dataset.status === 'rejected' || (s.dataset.status === 'checking'"
        " && +bar.getAttribute('aria-valuenow') > 0"
        " && +bar.getAttribute('aria-valuenow') < 100); }", timeout=180_000, polling=100)
    if _state(page) == "checking":
        seen = _percent(page)
        shot(page, "import-progress")
        # A reload while it runs: the page finds the job where it is and keeps polling.
        page.reload()
        assert _state(page) in ("checking", "rejected")
        assert _percent(page) >= seen
    page.wait_for_function(
        "() => document.querySelector('#import-status').dataset.status === 'rejected'",
        timeout=180_000, polling=250)
    counts = page.locator("[data-testid=import-counts]")
    assert counts.locator("[data-count=new]").inner_text() == str(ROWS - len(BAD))
    assert counts.locator("[data-count=invalid]").inner_text() == str(len(BAD))
    assert page.locator("[data-testid=import-confirm]").count() == 0
    assert "整份文件未导入" in page.locator("#import-status").inner_text()
    shot(page, "import-rejected")

    with page.expect_download() as download:
        page.click("[data-testid=import-errors]")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "单元格内容", "原因")
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        (n + 2, "手机", value) for n, value in sorted(BAD.items())]
    assert not Customer.objects.filter(source="DMS").exists()

"""Load test: staff of every role doing their daily mix against a running site.

Prepare the database with bench/load_setup.py (it writes the user names and ids this
file picks from), start gunicorn on 127.0.0.1, then run a bounded headless test:

    LOAD_DATA=/tmp/load_data.json .venv/bin/locust -f bench/locustfile.py --headless \\
        --host http://127.0.0.1:8160 --users 50 --spawn-rate 10 --run-time 5m

Each simulated person signs in through the login page once, then works: callers on
their worklist (and now and then record an outcome), CR managers on the complaint
board and pages (and now and then log a complaint), specialists on inspections, the
department managers on their complaints, the general manager on the dashboard; all
of them search customers by a mobile fragment or a plate and open customer pages.
"""

import itertools
import json
import os
import random
import re
from datetime import date, timedelta
from pathlib import Path

from locust import HttpUser, between, events, task

DATA = json.loads(Path(os.environ.get("LOAD_DATA", "/tmp/load_data.json")).read_text())
POOLS = {role: itertools.cycle(names) for role, names in DATA["users"].items()}
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
TASK = re.compile(r'data-task="(\d+)"')
SIGNED_IN = {"n": 0}


@events.init.add_listener
def _measure_the_mix_only(environment, **_kwargs):
    """Signing 50 people in at once costs a password hash each (deliberately slow): the
    statistics start again once everyone is signed in, so they show the day's work."""
    environment.mix_started = None


def _signed_in(environment):
    SIGNED_IN["n"] += 1
    target = environment.parsed_options.num_users if environment.parsed_options else 0
    if SIGNED_IN["n"] == target:
        import time

        entry = environment.runner.stats.get("sign in", "POST")
        print(f"sign in: {entry.num_requests} requests, median {entry.median_response_time} ms, "
              f"max {entry.max_response_time:.0f} ms")
        environment.runner.stats.reset_all()
        environment.mix_started = time.time()
        print(f"all {target} signed in; statistics reset, the mix is measured from now")


class Staff(HttpUser):
    abstract = True
    role = ""
    wait_time = between(1, 4)  # reading the page, dialling, typing

    def on_start(self):
        self.username = next(POOLS[self.role])
        parts = self.username.split("-")  # load-<role>-<store code>-<n>
        code = "-".join(parts[2:-1]) if len(parts) > 3 else random.choice(list(DATA["stores"]))
        self.store = DATA["stores"][code]
        self.token = ""
        self.get("/accounts/login/", "sign in (form)")
        with self.client.post("/accounts/login/", name="sign in", catch_response=True, data={
                "username": self.username, "password": DATA["password"],
                "csrfmiddlewaretoken": self.token}) as response:
            if "/accounts/login/" in response.url:
                response.failure(f"{self.username} could not sign in")
            self._remember_token(response)
        _signed_in(self.environment)

    def _remember_token(self, response):
        found = TOKEN.search(response.text or "")
        if found:
            self.token = found.group(1) or found.group(2)

    def get(self, url, name):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.ok and "/accounts/login/" in response.url and not url.startswith("/accounts/"):
                response.failure("signed out")
            self._remember_token(response)
            return response

    def post(self, url, name, data, **headers):
        with self.client.post(url, name=name, catch_response=True, data={
                **data, "csrfmiddlewaretoken": self.token},
                headers={"X-CSRFToken": self.token, **headers}) as response:
            if response.ok and "/accounts/login/" in response.url:
                response.failure("signed out")
            self._remember_token(response)
            return response

    # Shared by every role -----------------------------------------------------------------
    def search_mobile(self):
        self.get(f"/customers/?q={random.choice(self.store['mobile_fragments'])}",
                 "customer search (mobile fragment)")

    def search_plate(self):
        self.get(f"/customers/?q={random.choice(self.store['plates'])}", "customer search (plate)")

    def customer_page(self):
        self.get(f"/customers/{random.choice(self.store['customers'])}/", "customer page")

    def complaint_board(self):
        self.get("/complaints/", "complaint board")

    def complaint_page(self):
        self.get(f"/complaints/{random.choice(self.store['complaints'])}/", "complaint page")

    def dashboard(self):
        self.get(f"/satisfaction/?store={self.store['id']}", "dashboard")


class Caller(Staff):
    role = "caller"
    weight = 25

    def on_start(self):
        super().on_start()
        self.tasks_seen = []

    @task(6)
    def worklist(self):
        response = self.get("/followups/", "worklist")
        self.tasks_seen = TASK.findall(response.text or "")

    @task(2)
    def outcome(self):
        if not self.tasks_seen:
            return self.worklist()
        pk = self.tasks_seen.pop(random.randrange(len(self.tasks_seen)))
        if random.random() < 0.3:
            data = {"outcome": "booked",
                    "appointment_on": (date.today() + timedelta(days=3)).isoformat()}
        else:
            data = {"outcome": random.choice(["no_answer", "busy", "switched_off"])}
        self.post(f"/followups/tasks/{pk}/outcome/", "outcome POST", data, **{"HX-Request": "true"})

    @task(2)
    def search(self):
        self.search_mobile()

    @task(1)
    def plate(self):
        self.search_plate()

    @task(2)
    def customer(self):
        self.customer_page()


class CRManager(Staff):
    role = "cr_manager"
    weight = 8

    @task(4)
    def board(self):
        self.complaint_board()

    @task(3)
    def complaint(self):
        self.complaint_page()

    @task(2)
    def manager_dashboard(self):
        self.dashboard()

    @task(1)
    def search(self):
        self.search_mobile()

    @task(1)
    def customer(self):
        self.customer_page()

    @task(1)
    def log_complaint(self):
        customer = random.choice(self.store["customers"])
        self.get(f"/complaints/new/?customer={customer}", "complaint log (form)")
        self.post(f"/complaints/new/?customer={customer}", "complaint log POST", {
            "customer": customer, "channel": "phone", "category": "waiting",
            "description": "等待时间太长", "severity": "general"})


class Specialist(Staff):
    role = "cr_specialist"
    weight = 7

    @task(4)
    def inspections(self):
        self.get("/inspections/", "inspections list")

    @task(2)
    def worklist(self):
        self.get("/followups/", "worklist")

    @task(1)
    def plate(self):
        self.search_plate()

    @task(1)
    def customer(self):
        self.customer_page()


class DepartmentManager(Staff):
    role = "service_manager"
    weight = 6

    @task(3)
    def board(self):
        self.complaint_board()

    @task(2)
    def complaint(self):
        self.complaint_page()

    @task(1)
    def search(self):
        self.search_plate()


class GeneralManager(Staff):
    role = "general_manager"
    weight = 4

    @task(3)
    def manager_dashboard(self):
        self.dashboard()

    @task(1)
    def board(self):
        self.complaint_board()

    @task(1)
    def complaint(self):
        self.complaint_page()

# The two commands: `make demo` and `make test`. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: demo demo-reset test test-run install lint audit check-services messages stack worker beat web clean clean-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	@touch $(STAMP)

install: $(STAMP)

# An embedded PostgreSQL in .demo/pg (kept between runs), tasks in-process: migrate,
# seed the first time, run the jobs once, serve on PORT and print the logins.
demo: $(STAMP)
	$(BIN)/python -m crm_site.embedded demo --port $(PORT)

# The same, with the demo's data deleted first.
demo-reset: $(STAMP)
	$(BIN)/python -m crm_site.embedded demo --port $(PORT) --reset

# Lint, migrations check and the whole suite on PostgreSQL and Redis: DATABASE_URL and
# REDIS_URL when set, else embedded servers started in a scratch folder and stopped after.
test: $(STAMP)
	$(BIN)/python -m crm_site.embedded test -- $(MAKE) --no-print-directory test-run

test-run: $(STAMP)
	$(BIN)/python -m crm_site.check_services
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory audit
	$(BIN)/python manage.py makemigrations --check --dry-run
	CELERY_TASK_ALWAYS_EAGER=true $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Known vulnerabilities in the installed (pinned) dependencies, from PyPI's JSON API.
audit: $(STAMP)
	$(BIN)/pip-audit --vulnerability-service pypi --skip-editable --progress-spinner off

# Regenerate the English catalogue (source strings are Simplified Chinese) and compile.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l en --no-obsolete -i '.venv/*' -i 'bench/*' -i 'tests/*'
	$(BIN)/python manage.py compilemessages -l en -i .venv -i staticfiles

# The full stack by hand against PostgreSQL and Redis (DATABASE_URL, REDIS_URL set):
# web, one worker and one beat.
stack: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/honcho start

clean:
	rm -rf $(VENV) staticfiles

# The demo's database (stop the demo first).
clean-demo:
	rm -rf .demo

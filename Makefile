# The two commands: `make demo` and `make test`. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DATABASE_URL_TEST ?= postgres://postgres@127.0.0.1:5432/crm
export REDIS_URL_TEST ?= redis://127.0.0.1:6379/0

.PHONY: demo test install lint audit check-services messages stack worker beat web clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Embedded SQLite, tasks in-process: migrate, seed, run the nightly jobs once, serve.
demo: $(STAMP)
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py seed_demo
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py run_jobs
	@echo "Open http://127.0.0.1:8000 and sign in with a login above."
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py runserver 127.0.0.1:8000

# Lint, migrations check and the whole suite on PostgreSQL and Redis.
test: $(STAMP)
	@DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		$(BIN)/python -m crm_site.check_services
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory audit
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
		$(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$${DATABASE_URL:-$(DATABASE_URL_TEST)} REDIS_URL=$${REDIS_URL:-$(REDIS_URL_TEST)} \
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

# The two commands: `make run` (set up and serve the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve worker test coverage lint format check messages bench bench-pages bench-api bench-mail bench-search load venv dev-venv clean fuzz-api

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the pinned requirements change.
$(VENV)/.requirements: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.requirements $@

venv: $(VENV)/.requirements
dev-venv: $(VENV)/.requirements-dev

# HOST and PORT are passed on: in development the settings build SITE_URL (links in emails) and
# ALLOWED_HOSTS from them.
run: export HOST := $(HOST)
run: export PORT := $(PORT)
run: venv
	$(BIN)/python manage.py compile_translations
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo "Serving the help desk on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production-like: PostgreSQL from DATABASE_URL, DEBUG off, gunicorn, static files by whitenoise.
# Needs SECRET_KEY and ALLOWED_HOSTS (see the README); BIND and WEB_CONCURRENCY are optional.
serve: venv
	@test -n "$$DATABASE_URL" || { echo "make serve: set DATABASE_URL (postgres://user:password@host:5432/name)"; exit 2; }
	DEBUG=false $(BIN)/python manage.py compile_translations
	DEBUG=false $(BIN)/python manage.py migrate --no-input
	DEBUG=false $(BIN)/python manage.py collectstatic --no-input -v0
	DEBUG=false $(BIN)/gunicorn --config gunicorn.conf.py helpdesk_site.wsgi:application

# The background worker, with beat (the periodic tasks) in the same process: for one machine.
# Needs a broker (REDIS_URL or CELERY_BROKER_URL) and the same settings as the web servers. On
# several machines run `celery -A helpdesk_site worker` on each and beat on exactly one (README).
WORKER_CONCURRENCY ?= 2
worker: venv
	@test -n "$$REDIS_URL$$CELERY_BROKER_URL" || { echo "make worker: set REDIS_URL (redis://host:6379/0); without a broker, tasks run in the web process"; exit 2; }
	$(BIN)/celery -A helpdesk_site worker --beat --loglevel INFO --concurrency $(WORKER_CONCURRENCY)

# The suite on TEST_WORKERS processes (pytest-xdist; each has its own test database, and the
# tests that start servers or make databases pick free ports and unique names); TEST_WORKERS=0
# runs it in one. --dist load hands tests out in pytest-django's order (transactional tests
# after the others, as they empty the database), which work stealing would not keep.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist load
test: dev-venv
	$(BIN)/python manage.py compile_translations
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# A long fuzzing run of the REST API against its own OpenAPI document (schemathesis, in process,
# as two customers and an agent, with their access checks): API_FUZZ_EXAMPLES examples per
# operation and actor (the suite runs 4). Prints each operation's outcome, then the summary
# (operations, cases generated, requests and failures per actor: api/tests/conftest.py).
API_FUZZ_EXAMPLES ?= 500
fuzz-api: dev-venv
	API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) $(BIN)/python -m pytest api/tests/test_fuzz.py $(XDIST) -v -p no:cacheprovider

# The suite with the line coverage of the apps ([tool.coverage] in pyproject.toml): fails if it
# falls under the floor set there.
coverage: dev-venv
	$(BIN)/python manage.py compile_translations
	$(BIN)/python -m pytest $(XDIST) --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

# The translations: every string marked in the templates and the apps' Python into
# locale/{de,es}/LC_MESSAGES/django.po, keeping what is translated (new strings come in empty,
# changed ones fuzzy: translate them, then `make test` says which are left). Needs GNU gettext
# (apt-get install gettext) for xgettext and msgmerge; compiling does not.
MESSAGES_IGNORE = --ignore=".venv/*" --ignore="bench/*" --ignore="tests/*" --ignore="*/tests/*" \
	--ignore="conftest.py" --ignore="staticfiles/*" --ignore="*/management/*" --ignore="api/*"
messages: dev-venv
	$(BIN)/python manage.py makemessages -l de -l es --add-location=file $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compile_translations

lint: dev-venv
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

format: dev-venv
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

check: dev-venv
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Report benchmark (bench/RESULTS.md): SQLite at 100,000 tickets; set DATABASE_URL for PostgreSQL.
BENCH_TICKETS ?= 100000
bench: dev-venv
	$(BIN)/python bench/report_bench.py --tickets $(BENCH_TICKETS)

# Page benchmark (bench/page_bench.py): every page against a bare base.html floor; SQLite at
# 100,000 tickets, PostgreSQL when DATABASE_URL is set.
bench-pages: dev-venv
	$(BIN)/python bench/page_bench.py --tickets $(BENCH_TICKETS)

# API benchmark (bench/api_bench.py): the API's ticket list (each order) and a ticket with 50
# messages against page_bench.py's floor page, on a database page_bench.py filled (PostgreSQL at
# 1,000,000 tickets by default, or DATABASE_URL). It changes nothing there: one transaction,
# rolled back.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/helpdesk_bench
bench-api: dev-venv
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/api_bench.py

# Inbound mail benchmark (bench/mail_bench.py): BENCH_MAILS mails through a Dovecot of its own
# (IMAP on loopback) into the database; SQLite file by default, set DATABASE_URL (an empty
# database) for PostgreSQL. Prints mails a second and memory for each tenth of the run.
BENCH_MAILS ?= 10000
bench-mail: dev-venv
	$(BIN)/python bench/mail_bench.py --mails $(BENCH_MAILS)
# Search benchmark (bench/search_bench.py): the search's cases with their query plans; SQLite at
# 100,000 tickets, PostgreSQL when DATABASE_URL is set.
bench-search: dev-venv
	$(BIN)/python bench/search_bench.py --tickets $(BENCH_TICKETS)

# Load test (bench/load.py): gunicorn with 2 workers on PostgreSQL, 20 users for 60 s; the first
# run seeds 100,000 tickets. LOAD_ARGS="--users 4 --duration 10" passes options.
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/helpdesk_load
load: venv
	$(BIN)/python bench/load.py --database-url $(LOAD_DATABASE_URL) $(LOAD_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache celerybeat-schedule*

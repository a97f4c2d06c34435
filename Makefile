# zhongjie-market — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi.py
DEMO_PASSWORD ?= demo-Passw0rd
PORT ?= 5000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

venv: $(BIN)/activate ## Create the virtualenv and install the Python packages

system-deps: ## Install Debian packages (chromium for browser tests, CJK fonts) when root
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  for p in chromium fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	else echo "not root: install chromium fonts-noto-cjk libharfbuzz-subset0 yourself for the browser tests"; fi

translations: venv ## Compile the message catalogs
	$(BIN)/pybabel compile -d marketplace/translations

messages: venv ## Extract messages and update the catalogs
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --ignore-dirs ".*" \
	  --project zhongjie-market -o marketplace/translations/messages.pot marketplace templates
	$(BIN)/pybabel update -i marketplace/translations/messages.pot -d marketplace/translations --no-fuzzy-matching

setup: system-deps venv translations ## Everything needed to run and test

db: setup ## Apply migrations and seed the working-day calendar
	$(FLASK) db upgrade
	$(FLASK) calendar seed

run: db ## Start the app with demo data (SQLite) on http://127.0.0.1:5000, or PORT=8000
	APP_ENV=development $(FLASK) seed demo --if-empty --password "$(DEMO_PASSWORD)"
	APP_ENV=development $(FLASK) run --host 127.0.0.1 --port "$(PORT)"

test: setup ## Run the whole test suite (SQLite; TEST_DATABASE_URL for PostgreSQL)
	$(MAKE) --no-print-directory test-only

# One worker per CPU (pytest-xdist), a test file per worker at a time; WORKERS=0 runs in one process.
WORKERS ?= auto
test-only: ## Run the suite without the set-up step (WORKERS=0 for one process)
	APP_ENV=testing $(BIN)/pytest $(if $(filter 0,$(WORKERS)),-p no:xdist,-n $(WORKERS) --dist loadfile) $(PYTEST_ARGS)

lint: venv ## Ruff
	$(BIN)/ruff check .

jobs: db ## Run the time-driven jobs in a loop (deadlines, reminders, checkpoints)
	$(FLASK) jobs run --loop

vendor: ## Re-vendor Bootstrap from npm into static/vendor/
	rm -rf /tmp/zj-vendor && mkdir -p /tmp/zj-vendor && cd /tmp/zj-vendor && npm pack --silent bootstrap@5.3.9 && tar xzf bootstrap-*.tgz
	cp /tmp/zj-vendor/package/dist/css/bootstrap.min.css* /tmp/zj-vendor/package/dist/js/bootstrap.bundle.min.js* /tmp/zj-vendor/package/LICENSE static/vendor/bootstrap/

ci: ## What CI runs
	bash .ci/run

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) instance/*.sqlite

.PHONY: help venv system-deps translations messages setup db run test test-only lint jobs vendor ci clean

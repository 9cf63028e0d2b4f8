# make demo: install, migrate, load Mississippi, serve with a worker and beat (Ctrl-C stops all three).
# make test: install and run the test suite (SQLite unless ACTIONKIT_TEST_DATABASE_URL is set).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export FLASK_APP := actionkit
SHARED_DATA ?= ../shared/data
HOST ?= 127.0.0.1
PORT ?= 5000
GEOCODER ?= fake

.PHONY: demo test install messages clean snapshot

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11+) on PATH, or run make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Compiled Spanish catalogue (.mo) from the reviewed .po.
actionkit/translations/es/LC_MESSAGES/messages.mo: actionkit/translations/es/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile -d actionkit/translations -l es

install: $(VENV)/.installed actionkit/translations/es/LC_MESSAGES/messages.mo

# Re-extract strings after changing templates or code, then translate the new entries in es/messages.po.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o actionkit/translations/messages.pot .
	$(BIN)/pybabel update -i actionkit/translations/messages.pot -d actionkit/translations

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/flask db upgrade
	$(BIN)/flask officials sync --state MS --from $$( [ -d "$(SHARED_DATA)" ] && echo "$(SHARED_DATA)" || echo actionkit/officials/snapshots/ms.json.gz )
	$(BIN)/flask campaigns demo
	$(BIN)/flask staff demo-admin
	$(BIN)/python -m actionkit.demo_runner --host $(HOST) --port $(PORT) --geocoder $(GEOCODER)

snapshot: install
	$(BIN)/flask officials export --state MS -o actionkit/officials/snapshots/ms.json.gz

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache

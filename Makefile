# Every target creates/refreshes the virtual environment and installs what it needs itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR ?= demo-data
DEMO_ENV := OVERWATCH_DATA_FOLDER=$(DEMO_DIR)/data

.PHONY: demo test bench lint venv system-deps clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,celery]'
	touch $(STAMP)

# The test-only extra: real ROOT writes the fixture corpus of tests/rootcorpus (not needed by the demo).
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,celery,postgres,rootfiles]'
	touch $(TEST_STAMP)

# Debian's chromium and chromium-driver run the browser tests; redis-server backs the Celery test and
# postgresql the catalog tests on PostgreSQL (the tests start and stop their own servers on 127.0.0.1).
# Installed only when missing.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
		|| ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian chromium, chromium-driver, redis-server and postgresql"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver redis-server \
			postgresql; \
	fi

test: $(TEST_STAMP) system-deps
	$(BIN)/python -m pytest

# Fresh demo data, one processing pass, then live replay + processing loop + dashboard until Ctrl-C.
demo: venv
	rm -rf $(DEMO_DIR)
	$(DEMO_ENV) $(BIN)/overwatch --config config/demo.toml demo

bench: venv
	$(BIN)/python benchmarks/run_all.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_DIR)

# Pantau SOP. Only python3 (3.11+, with venv) and make are needed; everything else is installed
# into .venv from the exact pins in requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
# The suite holds on a busy machine with four workers on two cores (docs/architecture.md).
PYTEST_ARGS ?= -n 4

.PHONY: install run test lint bench lock clean

install: $(STAMP)

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Pantau SOP butuh Python 3.11 atau lebih baru."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "Gagal membuat .venv: pasang modul venv (Debian: apt install python3-venv)."; exit 1; }
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --requirement requirements.lock
	@touch $(STAMP)

# The app server's environment, as deploy/pantau@.service and the browser tests start it: glibc's
# allocator with one arena (docs/deploy.md, "Memory"; the tests check the three agree).
SERVER_ENV := MALLOC_ARENA_MAX=1

run: install
	$(BIN)/python manage.py init
	$(SERVER_ENV) $(BIN)/python -m streamlit run server.py --server.port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-resolve the pins after editing pyproject.toml.
lock:
	rm -rf build/lock-venv
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip==25.3
	build/lock-venv/bin/python -m pip install --quiet ".[test]"
	{ echo "# Full resolved dependency set of pyproject.toml (runtime + test), pinned exactly."; \
	  echo "# Regenerate with: make lock"; \
	  build/lock-venv/bin/python -m pip freeze --exclude pantau-sop; } > requirements.lock

clean:
	rm -rf $(VENV) build .pytest_cache

# Two entry points on a fresh machine: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Bytecode caching on for everything make starts: the tests start about a hundred Python processes
# (suites, the reference app, locust), and without .pyc files each compiles its imports from source
# and pytest rewrites every plugin's asserts again (3.5 s of CPU per pytest start, 1.5 s per app
# process, measured on the 2-core machine). Some environments set PYTHONDONTWRITEBYTECODE globally.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint typecheck unit docs docs-build venv clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4,<1"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

requirements.lock: pyproject.toml
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet "uv>=0.4,<1"; }
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

demo: $(STAMP)
	$(BIN)/tenantprobe demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# scenarios/ and benchmarks/ are script directories (locust loads one, python runs the other), each
# with its own module names, so each is checked on its own.
# mypy's cache sits with the machine's other caches, not in the checkout: in a fresh clone (every CI
# run) mypy otherwise checks every imported library again, 31 s of CPU where a warm cache needs 0.7 s
# (measured on the 2-core machine). mypy re-checks each file whose contents differ from the cached
# hash, so a cache written by another checkout or commit is safe to reuse.
MYPY_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tenantprobe/mypy
typecheck: $(STAMP)
	MYPY_CACHE_DIR=$(MYPY_CACHE_DIR) $(BIN)/mypy
	MYPY_CACHE_DIR=$(MYPY_CACHE_DIR) $(BIN)/mypy scenarios
	MYPY_CACHE_DIR=$(MYPY_CACHE_DIR) $(BIN)/mypy benchmarks

# The slowest tests are listed at the end: where the test run's time goes, in every CI log.
unit: $(STAMP)
	$(BIN)/pytest --durations=25

# The documentation site (docs/, mkdocs.yml): `make docs` serves it with live reload. `make test`
# builds it strictly (broken links and anchors fail) in tests/docs, next to the commands the pages
# show, so it has no docs-build step of its own: that built the same site a second time.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

docs-build: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

test: lint typecheck unit

clean:
	rm -rf $(VENV) build results .mypy_cache .ruff_cache .pytest_cache

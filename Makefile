# The README's two commands: `make check` (the main job on the example rotation.yaml) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv check test lint lint-workflows typecheck browser bench demo clean

# Python 3.11 or newer, said in one line; a failed install leaves no half-built .venv behind.
$(VENV)/.installed: requirements.txt requirements-build-customers.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 || { \
	  echo "support-hero needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>/dev/null || echo "not found"). Try: make PYTHON=python3.11"; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt \
	  || { rm -rf $(VENV); echo "installing the requirements failed; .venv was removed"; exit 1; }
	touch $@

venv: $(VENV)/.installed

check: venv
	$(PY) -m scripts.check_rotation --config rotation.yaml

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The workflows: zizmor's security audits (offline, its strictest persona), and every file against
# its schema. actionlint is run by hand (see README, Development): no build of it installs here.
lint-workflows: venv
	$(VENV)/bin/zizmor --offline --persona=pedantic .github/workflows .github/dependabot.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(VENV)/bin/check-jsonschema --schemafile rotation.schema.json rotation.yaml

# Types: strict on the cores listed in pyproject.toml ([tool.mypy]).
typecheck: venv
	$(PY) -m mypy

# The headless browser the calendar page is tested in: Debian's chromium, installed where it can
# be (root, with apt-get); elsewhere those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian's package) for the calendar page's browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq chromium >/dev/null 2>&1 \
	      || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; } \
	      || echo "chromium could not be installed: the browser tests will be skipped"; \
	  else echo "no chromium, and no root apt-get to install it: the browser tests will be skipped"; fi; }

test: venv browser lint lint-workflows typecheck
	$(PY) -m pytest -q

bench: venv
	$(PY) -m bench

demo: venv
	$(PY) -m demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

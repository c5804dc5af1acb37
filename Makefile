# callcore — the two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Debian packages the test-suite drives as real peers or uses to make audio.
# command -> package
SYSTOOLS := sipp:sip-tester baresip:baresip kamailio:kamailio sox:sox espeak-ng:espeak-ng

.PHONY: demo test sysdeps venv lint bench clean

demo: $(STAMP)
	$(VENV)/bin/callcore demo

test: sysdeps $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest

# Installs the system tools the tests need (apt-get, as root, once).
sysdeps:
	@missing=""; for pair in $(SYSTOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system tools:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard src/callcore/*.pyx src/callcore/**/*.pyx src/callcore/*.pxd)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel Cython
	$(PY) -m pip install -q -e '.[test]'
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

bench: sysdeps $(STAMP)
	$(PY) -m pip install -q sippy  # the B2BUA baseline of benchmarks/b2bua_cps.py
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-only -p no:cacheprovider

clean:
	rm -rf build $(VENV) src/*.egg-info
	find src -name '*.so' -delete -o -name '*.c' -path '*callcore*' -delete

# cmbench: `make bench` measures, `make test` tests. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= quick
# Debian packages. Measuring: the load generator (wrk), perf for the context-switch reference,
# debootstrap for the docker executor's base images. Testing also: chromium and a CJK font for the
# headless check of the report site (tests/integration/test_report_site.py).
APT_PACKAGES      := wrk linux-perf debootstrap
APT_TEST_PACKAGES := chromium fonts-wqy-zenhei
OHA_VERSION  := 1.16.0
# pyproject.toml's extras: the toolchains pip provides, the reports, the nightly, the Dask fleet.
EXTRAS := toolchains,report,nightly,cluster
# Apache Otava, the nightly's change-point detection, without the dependencies its package declares
# (Google BigQuery, Slack and PostgreSQL clients, numpy==2.2.0.*): otava.analysis imports numpy and
# scipy only, which the extras install (pyproject.toml, [nightly]).
OTAVA  := apache-otava>=0.8,<0.9

.PHONY: install system-deps test-system-deps oha otava bench test lint clean

install: $(VENV)/.installed system-deps oha

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	$(MAKE) --no-print-directory otava BIN=$(BIN)
	$(BIN)/python -m harness.toolchains
	touch $@

# Into the environment whose bin folder is BIN (tox passes its own).
otava:
	$(BIN)/python -m pip install --quiet --no-deps '$(OTAVA)'

# Installs missing Debian packages when run as root; otherwise says which to install.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "missing Debian packages:$$missing (sudo apt-get install$$missing); $(2)"; fi
endef

system-deps:
	$(call apt_install,$(APT_PACKAGES),their cases will be skipped)

test-system-deps:
	$(call apt_install,$(APT_TEST_PACKAGES),the headless check of the report site will be skipped)

# oha, the open-loop load generator with coordinated-omission correction, from crates.io, into
# cargo's own bin folder (on PATH), where a second clone finds it already built.
oha:
	@if oha --version 2>/dev/null | grep -q " $(OHA_VERSION)"; then exit 0; fi; \
	if command -v cargo >/dev/null; then cargo install --quiet --locked oha --version $(OHA_VERSION); \
	else echo "cargo not found: oha is missing, so open-loop HTTP phases will be skipped"; fi

# The site is rendered even when some cases failed (they show as such); the exit status is the run's.
bench: install
	$(BIN)/cmbench run --profile $(PROFILE); status=$$?; $(BIN)/cmbench report && exit $$status

# tox builds its own environment with every extra and the test tools (tox.ini); .venv only runs tox.
test: install test-system-deps
	$(BIN)/pip install --quiet tox
	$(BIN)/tox

lint: install
	$(BIN)/pip install --quiet tox
	$(BIN)/tox -e lint

clean:
	rm -rf $(VENV) .tox impls/*/*/build impls/rust/target

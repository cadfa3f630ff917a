# cmbench: `make bench` measures, `make test` tests. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= quick
# Debian packages: load generator (wrk), perf for the context-switch reference, debootstrap for
# the docker executor's base images, chromium for the headless check of the report site.
APT_PACKAGES := wrk linux-perf debootstrap chromium fonts-wqy-zenhei
OHA_VERSION  := 1.16.0

.PHONY: install system-deps oha bench test lint clean

install: $(VENV)/.installed system-deps oha

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[toolchains,test]' tox
	$(BIN)/python -m harness.toolchains
	touch $@

# Installs missing Debian packages when run as root; otherwise says which to install.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "missing Debian packages:$$missing (sudo apt-get install$$missing); their cases will be skipped"; fi

# oha, the open-loop load generator with coordinated-omission correction, from crates.io, into
# cargo's own bin folder (on PATH), where a second clone finds it already built.
oha:
	@if oha --version 2>/dev/null | grep -q " $(OHA_VERSION)"; then exit 0; fi; \
	if command -v cargo >/dev/null; then cargo install --quiet --locked oha --version $(OHA_VERSION); \
	else echo "cargo not found: oha is missing, so open-loop HTTP phases will be skipped"; fi

# The site is rendered even when some cases failed (they show as such); the exit status is the run's.
bench: install
	$(BIN)/cmbench run --profile $(PROFILE); status=$$?; $(BIN)/cmbench report && exit $$status

test: install
	$(BIN)/tox

lint: install
	$(BIN)/tox -e lint

clean:
	rm -rf $(VENV) .tox impls/*/*/build impls/rust/target

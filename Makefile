# cmbench: `make bench` measures, `make test` tests. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= quick

.PHONY: install bench test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[toolchains,test]' tox
	$(BIN)/python -m harness.toolchains
	touch $@

bench: install
	$(BIN)/cmbench run --profile $(PROFILE)

test: install
	$(BIN)/tox

lint: install
	$(BIN)/tox -e lint

clean:
	rm -rf $(VENV) .tox impls/*/*/build impls/rust/target

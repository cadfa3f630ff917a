"""The catalogue in this suite's docstring and the kinds its tests cover are the same list, truly counted."""

from __future__ import annotations

import importlib
import pkgutil
import re

import tests.faults as suite

MIN_KINDS = 30


def _documented() -> list[str]:
    return re.findall(r"^- ([a-z0-9-]+):", suite.__doc__, flags=re.M)


def _covered() -> dict[str, list[str]]:
    covered: dict[str, list[str]] = {}
    for module in pkgutil.iter_modules(suite.__path__):
        if module.name.startswith("test_"):
            for name, obj in vars(importlib.import_module(f"{suite.__name__}.{module.name}")).items():
                for kind in getattr(obj, "fault_kinds", ()):
                    covered.setdefault(kind, []).append(f"{module.name}.{name}")
    return covered


def test_every_documented_kind_has_a_test_and_every_tested_kind_is_documented():
    documented, covered = _documented(), _covered()
    assert len(documented) == len(set(documented)), "a kind is listed twice"
    assert sorted(set(covered) - set(documented)) == [], "tested but not in the catalogue"
    assert sorted(set(documented) - set(covered)) == [], "in the catalogue but no test covers it"


def test_the_stated_count_is_the_count_and_at_least_the_minimum():
    stated = int(re.search(r"^(\d+) fault kinds:", suite.__doc__, flags=re.M).group(1))
    assert stated == len(_documented()) >= MIN_KINDS

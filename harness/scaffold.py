"""`cmbench new LANGUAGE/MODEL --template NAME`: a new implementation folder that builds and verifies.

A template is a folder of package data, `harness/templates/<name>/`, whose files are copied to
`impls/<language>/<model>/` with `%%{...}` placeholders filled in (string.Template with its own
delimiter, so `$` in Makefiles and Dockerfiles stays as it is). Each template serves ping_pong
already, so `cmbench verify` passes right away; its README lists the other workloads as to-do,
with a link to each spec, and its source has a comment pointing at each spec.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harness.errors import UsageError, UserError
from harness.manifests.model import Workload

ID = re.compile(r"^[a-z][a-z0-9_-]*/[a-z][a-z0-9_-]*$")
FIRST_WORKLOAD = "ping_pong"


class _Template(string.Template):
    delimiter = "%%"


@dataclass(frozen=True)
class Template:
    name: str
    help: str
    comment: str  # how a line of the source's header comment starts


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("python", "interpreted: Python threads and queue.Queue; no build step", "    "),
    Template("c", "compiled: C11 + pthreads, built with make", " * "),
    Template("cpp", "compiled: C++17 std::thread, mutex + condition_variable, built with make and g++", "// "),
)}


def _files(template: str):
    return resources.files("harness").joinpath("templates", template)


def check_id(impl_id: str, impls_root: Path) -> tuple[str, str]:
    """The language and model of a new implementation id; UserError for a bad or taken one."""
    if not ID.match(impl_id):
        raise UsageError(f"LANGUAGE/MODEL: '{impl_id}' is not an id like go/goroutines (lower-case letters, "
                        "digits, '-' and '_', starting with a letter)")
    target = impls_root / impl_id
    if target.exists():
        raise UserError(f"{target}: already exists; pick another LANGUAGE/MODEL or remove the folder")
    language, model = impl_id.split("/")
    return language, model


def new_impl(root: Path, impl_id: str, template: str, workloads: Mapping[str, Workload]) -> Path:
    """Create impls/<impl_id>/ from `template`; returns the folder."""
    if template not in TEMPLATES:
        raise UsageError(f"--template: unknown template '{template}'; valid: {', '.join(TEMPLATES)}")
    impls_root = root / "impls"
    language, model = check_id(impl_id, impls_root)
    if FIRST_WORKLOAD not in workloads:
        raise UserError(f"{root / 'workloads'}: has no {FIRST_WORKLOAD} workload, which every template serves first")
    t = TEMPLATES[template]
    spec = "../../../workloads"
    todo = [f"- [x] [{FIRST_WORKLOAD}]({spec}/{FIRST_WORKLOAD}/README.md): {workloads[FIRST_WORKLOAD].summary}"]
    todo += [f"- [ ] [{w.name}]({spec}/{w.name}/README.md): {w.summary}" + (" (a server)" if w.kind == "server" else "")
             for w in workloads.values() if w.name != FIRST_WORKLOAD]
    comments = [f"{t.comment}{w.name + ':':15} workloads/{w.name}/README.md"
                + (" (done)" if w.name == FIRST_WORKLOAD else "") for w in workloads.values()]
    values = {"id": impl_id, "language": language, "model": model, "template": template,
              "workload_list": "\n".join(todo), "spec_comments": "\n".join(comments)}
    target = impls_root / language / model
    target.mkdir(parents=True)
    for source in sorted(_files(template).iterdir(), key=lambda f: f.name):
        if source.is_file():
            text = _Template(source.read_text(encoding="utf-8")).substitute(values)
            (target / source.name).write_text(text, encoding="utf-8")
    return target

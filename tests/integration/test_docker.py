"""The docker executor for real: every image whose toolchain is present, smoke runs, cleanup.

Needs a Docker engine (DOCKER_HOST or the local socket); skipped with the reason otherwise.
Without a registry the first run builds the base stand-ins with debootstrap (as root): measured
on a loaded 2-CPU machine, 140 s for Debian bookworm, 110 s for OpenJDK 17, 170 s for Python 3,
10 s each for the Java 25 and uvloop layers, then 10-30 s per implementation image; later runs
reuse them all (about 20 s for every image check, mostly the native builds).
"""

from __future__ import annotations

import os

import pytest

from harness.catalog import load_catalog
from harness.console import Console
from harness.engine.local import run_cases
from harness.executors.docker import DockerExecutor
from harness.executors.docker_container import ContainerResult
from harness.executors.native import NativeExecutor
from harness.kinds import kind_of
from harness.kinds.base import RunContext
from harness.manifests.model import DEFAULT_VARIANT

from ..conftest import PROJECT

pytestmark = pytest.mark.integration

CATALOG = load_catalog(PROJECT)
BATCH_IMPLS = ("go/goroutines", "c/pthreads")
SMOKE_WORKLOADS = ("ping_pong", "worker_pool")
# Why a base image cannot be had on this machine (no registry, and no root or debootstrap to build one).
ENVIRONMENT_LIMITS = ("needs root", "needs debootstrap", "is not on PATH", "is not installed next to the harness",
                      "is built for this harness's Python")
METRICS = ("wall_time", "throughput", "peak_rss", "cpu_user", "cpu_system", "ctx_switches_voluntary",
           "ctx_switches_involuntary", "ctx_switches_voluntary_per_op", "startup_peak_rss")


@pytest.fixture(scope="module")
def executor(engine):
    ex = DockerExecutor()
    yield ex
    ex.close()
    left = engine.containers.list(all=True, filters={"label": f"cmbench.session={ex.session}"})
    assert left == [], f"containers left behind: {[c.name for c in left]}"


def _ready(executor: DockerExecutor, impl_id: str):
    if impl_id not in CATALOG.impls:
        pytest.skip(f"{impl_id}: not in the catalog yet")
    impl = CATALOG.impls[impl_id]
    tc = executor.toolchain(impl)
    if not tc.present:
        pytest.skip(f"{impl_id}: toolchain missing ({tc.version}): {impl.toolchain_hint}")
    if impl_id not in executor.images:
        built = executor.build(impl)
        if not built.ok and any(why in built.log for why in ENVIRONMENT_LIMITS):
            pytest.skip(built.log)
        assert built.ok, built.log
    return impl


@pytest.mark.parametrize("impl_id", sorted(CATALOG.impls))
def test_image_builds_and_is_cached(executor, engine, impl_id):
    impl = _ready(executor, impl_id)
    tag = executor.images[impl_id]
    image = engine.images.get(tag)
    assert image.labels.get("org.cmbench.impl") == impl_id
    assert image.attrs["Config"]["User"] == "65534:65534"
    again = executor.build(impl)  # same inputs: the image is reused, not rebuilt
    assert again.ok and executor.images[impl_id] == tag


@pytest.mark.parametrize("impl_id", sorted(CATALOG.impls))
def test_every_variant_runs_in_its_image(executor, impl_id):
    """A verify case in every variant: the runtimes a variant names (java25, uvloop) are in the image."""
    impl = _ready(executor, impl_id)
    cpus = tuple(sorted(os.sched_getaffinity(0)))
    failures = []
    # ping_pong's verify case where the implementation serves it, else its first workload (a server only)
    workload = CATALOG.workloads["ping_pong" if "ping_pong" in impl.workloads else impl.workloads[0]]
    ctx = RunContext(CATALOG, executor, Console())
    for variant in impl.variants:
        if not variant.applies_to(workload.name):
            continue
        for r in kind_of(workload.kind).verify(ctx, impl, variant, workload, cpus):
            if r.status not in ("ok", "unsupported"):
                failures.append(f"{r.key.variant} {r.key.workload}[{r.key.case}]: {r.status}: {r.error}")
    assert not failures, "; ".join(failures)


def test_smoke_runs_in_docker_match_the_native_schema(executor, tmp_path):
    impls = [_ready(executor, i) for i in BATCH_IMPLS if i in CATALOG.impls]
    workloads = [CATALOG.workloads[w] for w in SMOKE_WORKLOADS]
    cpus = tuple(sorted(os.sched_getaffinity(0)))
    outcome = run_cases(CATALOG, executor, impls, workloads, profile="smoke", cpus=cpus, out=tmp_path / "run",
                        console=Console())
    assert outcome.results and not outcome.failed, [(r.key, r.error) for r in outcome.failed]
    for result in outcome.results:
        if result.status != "ok":
            continue
        assert result.params["executor"] == "docker"
        metrics = {row.metric for row in outcome.rows[result.key]}
        missing = [m for m in METRICS if m not in metrics]
        assert not missing, f"{result.key}: no {missing}"
        peak = [row.value for row in outcome.rows[result.key] if row.metric == "peak_rss"]
        assert all(v > 0 for v in peak)
    header = (tmp_path / "run" / "results.csv").read_text().splitlines()[0]
    assert "executor" in header and "docker" in (tmp_path / "run" / "run.json").read_text()


def test_rusage_and_cgroup_peak_from_inside(executor):
    impl = _ready(executor, "go/goroutines")
    args = ["spawn_idle", "--tasks", "2000", "--sleep-ms", "50", "--warmups", "0", "--iterations", "1",
            "--cpus", "1"]
    r = executor.run(impl, DEFAULT_VARIANT, args, cpus=(0,), timeout=60)
    assert isinstance(r, ContainerResult) and r.returncode == 0, r.stderr
    assert r.rusage.max_rss > 1 << 20 and r.rusage.voluntary > 0 and r.rusage.user + r.rusage.system > 0
    assert r.cgroup_peak >= r.rusage.max_rss  # the cgroup also counts the shell, the wrapper and page cache
    native = NativeExecutor()
    n = native.run(impl, DEFAULT_VARIANT, args, cpus=(0,), timeout=60)
    assert n.returncode == 0
    assert 0.5 < r.rusage.max_rss / n.rusage.max_rss < 2.0  # the same program, measured the same way


def test_timeout_kills_and_removes_the_container(executor, engine):
    impl = _ready(executor, "go/goroutines")
    args = ["ping_pong", "--roundtrips", "100000000", "--warmups", "0", "--iterations", "1", "--cpus", "1"]
    r = executor.run(impl, DEFAULT_VARIANT, args, cpus=(0,), timeout=2)
    assert r.timed_out and r.returncode != 0
    assert engine.containers.list(all=True, filters={"label": f"cmbench.session={executor.session}"}) == []


def test_server_in_docker_passes_verification(executor):
    from harness.kinds.server.cases import make_setup, split_cpus, verify_case

    impl = _ready(executor, "go/goroutines")
    server, load = split_cpus(sorted(os.sched_getaffinity(0)), sorted(os.sched_getaffinity(0)))
    if not load:
        pytest.skip("needs at least 2 CPUs: one for the server, one for the load generator")
    setup = make_setup(executor, impl, impl.variants[0], CATALOG.workloads["http_server"], "verify", server, load)
    result = verify_case(setup)
    assert result.status == "ok", result.error

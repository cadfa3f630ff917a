"""The docker executor against a fake engine: container settings, results, timeouts, cleanup."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import docker.errors
import pytest
import requests

from harness.errors import UserError
from harness.executors import EXECUTORS
from harness.executors import docker as docker_executor
from harness.executors.base import BuildResult, Toolchain
from harness.executors.docker import DockerExecutor, container_env, expand
from harness.executors.docker_container import ENTRY, REPORTS, USER, ContainerResult, Limits
from harness.manifests.model import DEFAULT_VARIANT, Variant

GOOD_REPORT = {"status": 0, "user": 0.25, "system": 0.05, "maxrss_kib": 2048, "voluntary": 11, "involuntary": 3}


def report_tar(report: dict | None, peak: str = "9084928\n") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        files = {"cmbench/cgroup-peak": peak.encode()}
        if report is not None:
            files["cmbench/rusage.json"] = json.dumps(report).encode()
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeContainer:
    def __init__(self, engine: FakeEngine, kwargs: dict) -> None:
        self.engine = engine
        self.kwargs = kwargs
        self.id = f"c{len(engine.created):063d}"
        self.status = "created"
        self.attrs = {"State": {"Pid": 0, "OOMKilled": engine.oom}}
        self.killed: list[str] = []
        self.archives: list[str] = []
        self.removed = False

    def put_archive(self, path, data) -> bool:
        self.archives.append(path)
        return True

    def start(self) -> None:
        self.status = "running"
        self.attrs["State"]["Pid"] = 4242

    def wait(self, timeout=None) -> dict:
        if self.engine.wait_error is not None and not self.killed:
            error, self.engine.wait_error = self.engine.wait_error, None
            raise error
        self.status = "exited"
        return {"StatusCode": 137 if self.killed else self.engine.status}

    def kill(self, signal="SIGKILL") -> None:
        self.killed.append(signal)

    def logs(self, stdout=True, stderr=True, stream=False, follow=False):
        if stream:
            return iter(self.engine.stream)
        return self.engine.stdout if stdout else self.engine.stderr

    def get_archive(self, path):
        assert path == REPORTS
        return iter([report_tar(self.engine.report)]), {}

    def reload(self) -> None:
        pass

    def remove(self, force=False) -> None:
        self.removed = True
        self.engine.containers.remove(self)


class FakeContainers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def create(self, image, **kwargs) -> FakeContainer:
        if image not in self.engine.images:
            raise docker.errors.ImageNotFound("no such image")
        c = FakeContainer(self.engine, {"image": image, **kwargs})
        self.engine.created.append(c)
        self.engine.containers.append(c)
        return c

    def list(self, all=False, filters=None):
        key, value = filters["label"].split("=", 1)
        return [c for c in self.engine.containers if c.kwargs["labels"].get(key) == value]


class FakeImage:
    def __init__(self, tag: str, labels: dict | None = None) -> None:
        self.tags = [tag]
        self.id = "sha256:" + tag.replace("/", "_").replace(":", "_")
        self.attrs = {"Size": 80 * 2**20, "Created": "2026-01-01T00:00:00Z", "Labels": labels or {}}


class FakeImages:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, ref):
        if ref not in self.engine.images:
            raise docker.errors.ImageNotFound(ref)
        return self.engine.images[ref]

    def list(self, filters=None):
        key, value = filters["label"].split("=", 1)
        return [i for i in self.engine.images.values() if i.attrs["Labels"].get(key) == value]

    def remove(self, image_id):
        for ref, image in list(self.engine.images.items()):
            if image.id == image_id:
                del self.engine.images[ref]


class FakeApi:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def build(self, fileobj, tag, labels, **kwargs):
        names = tarfile.open(fileobj=fileobj).getnames()
        self.engine.builds.append({"tag": tag, "files": names, **kwargs})
        if self.engine.build_error:
            yield {"stream": "Step 1/4 : FROM base\n"}
            yield {"stream": " ---> 1234\n"}
            yield {"stream": "Step 2/4 : COPY goroutines/build/x build/x\n"}
            yield {"error": self.engine.build_error}
            return
        self.engine.images[tag] = FakeImage(tag, labels)
        yield {"stream": "Successfully built\n"}

    def stats(self, container_id, stream=False):
        return {"memory_stats": {"usage": 5000, "stats": {"total_inactive_file": 1000}}}


class FakeEngine:
    """Just enough of docker.DockerClient for the executor."""

    def __init__(self) -> None:
        self.images: dict[str, FakeImage] = {"base:1": FakeImage("base:1")}
        self.containers: list[FakeContainer] = []
        self.created: list[FakeContainer] = []
        self.builds: list[dict] = []
        self.build_error = ""
        self.status = 0
        self.stdout = b'{"iteration": 0}\n'
        self.stderr = b"diagnostics\n"
        self.stream = [b'{"ready": true,', b' "port": 8080}\nsecond\n']
        self.report: dict | None = GOOD_REPORT
        self.wait_error: BaseException | None = None
        self.oom = False
        self.closed = False
        self.containers_api = FakeContainers(self)
        self.images_api = FakeImages(self)
        self.api = FakeApi(self)

    def version(self) -> dict:
        return {"Version": "20.10.24"}

    def close(self) -> None:
        self.closed = True


class Client:
    """The client facade: `containers` and `images` collections over one FakeEngine."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.containers = engine.containers_api
        self.images = engine.images_api
        self.api = engine.api

    def version(self) -> dict:
        return self.engine.version()

    def close(self) -> None:
        self.engine.close()


class FakeBases:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def resolve(self, image: str, impl_dir=None) -> str:
        self.asked.append(image)
        return "base:1"


class FakeNative:
    def __init__(self, ok: bool = True, present: bool = True) -> None:
        self.ok = ok
        self.present = present
        self.built: list[str] = []

    def toolchain(self, impl) -> Toolchain:
        return Toolchain(self.present, "go version go1.27.3" if self.present else "go: not found")

    def build(self, impl) -> BuildResult:
        self.built.append(impl.id)
        return BuildResult(self.ok, 0.5, "" if self.ok else "go build: exit 1: syntax error")


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def impl(tmp_path, fixture_catalog):
    """An implementation folder with a Dockerfile and an artifact, in its language folder."""
    base = fixture_catalog.impls["fake/good"]
    folder = tmp_path / "impls" / "go" / "goroutines"
    (folder / "build").mkdir(parents=True)
    (folder / "build" / "cmbench-go").write_bytes(b"\x7fELF binary")
    (folder / "main.go").write_text("package main\n")
    (folder / "Dockerfile").write_text("ARG BASE=debian:bookworm-slim\nFROM ${BASE}\nWORKDIR /app/goroutines\n"
                                       "COPY goroutines/build/cmbench-go build/cmbench-go\nUSER 65534:65534\n")
    (folder / "Dockerfile.dockerignore").write_text("*\n!goroutines/build/cmbench-go\n")
    from dataclasses import replace

    return replace(base, id="go/goroutines", path=folder, language="go", model="goroutines",
                   run=("./build/cmbench-go",))


def make(engine: FakeEngine, native: FakeNative | None = None) -> DockerExecutor:
    return DockerExecutor(connector=lambda: Client(engine), native=native or FakeNative(), bases=FakeBases(),
                          limits=Limits("2g", 4096))


def test_registered_as_docker():
    assert "docker" in EXECUTORS


def test_expand_uses_the_images_python():
    assert expand(["{python}", "main.py", "--cpus", "{cpus}"], 3) == ["python3", "main.py", "--cpus", "3"]


def test_container_env_is_whitelisted_plus_variant():
    env = container_env(Variant("v", env={"GOMAXPROCS": "1"}))
    assert env == {"LANG": "C.UTF-8", "HOME": "/tmp", "GOMAXPROCS": "1"}


def test_build_then_cached(engine, impl, capsys):
    ex = make(engine)
    first = ex.build(impl)
    assert first.ok, first.log
    assert len(engine.builds) == 1
    build = engine.builds[0]
    assert build["buildargs"] == {"BASE": "base:1"}
    assert build["dockerfile"] == "goroutines/Dockerfile"
    assert build["network_mode"] == "host"
    assert sorted(build["files"]) == ["goroutines/Dockerfile", "goroutines/build/cmbench-go"]
    tag = ex.images[impl.id]
    assert tag.startswith("cmbench/go-goroutines:")

    again = make(engine).build(impl)
    assert again.ok and len(engine.builds) == 1  # same inputs: not rebuilt
    assert "up to date" in capsys.readouterr().err

    (impl.path / "build" / "cmbench-go").write_bytes(b"\x7fELF changed")
    assert make(engine).build(impl).ok
    assert len(engine.builds) == 2
    assert tag not in engine.images  # the earlier image of this implementation is pruned


def test_source_outside_the_context_selection_does_not_rebuild(engine, impl):
    make(engine).build(impl)
    (impl.path / "main.go").write_text("package main // edited\n")
    make(engine).build(impl)
    assert len(engine.builds) == 1


def test_native_build_failure_is_returned(engine, impl):
    result = make(engine, FakeNative(ok=False)).build(impl)
    assert not result.ok and "syntax error" in result.log
    assert engine.builds == []


def test_docker_build_failure_is_one_line_with_the_tail(engine, impl):
    engine.build_error = "COPY failed: file not found in build context"
    result = make(engine).build(impl)
    assert not result.ok
    assert "\n" not in result.log
    assert result.log.startswith(f"docker build {impl.path / 'Dockerfile'}: COPY failed")
    assert "Step 2/4" in result.log and "--->" not in result.log


def test_missing_dockerfile_is_a_build_failure(engine, impl):
    (impl.path / "Dockerfile").unlink()
    result = make(engine).build(impl)
    assert not result.ok and "Dockerfile: not found" in result.log


def test_toolchain_needs_engine_and_native(engine, impl):
    assert make(engine).toolchain(impl) == Toolchain(True, "go version go1.27.3; docker engine 20.10.24")
    assert not make(engine, FakeNative(present=False)).toolchain(impl).present


def test_no_engine_is_one_user_error(monkeypatch, impl):
    def refuse(**kwargs):
        raise docker.errors.DockerException("Error while fetching server API version: connection refused")

    monkeypatch.setattr(docker, "from_env", refuse)
    ex = DockerExecutor(limits=Limits("2g", 4096))
    with pytest.raises(UserError) as e:
        ex.toolchain(impl)
    assert "no engine reachable" in str(e.value) and "\n" not in str(e.value)
    ex.close()


def test_run_settings_and_result(engine, impl):
    ex = make(engine)
    ex.build(impl)
    r = ex.run(impl, Variant("p1", env={"GOMAXPROCS": "1"}), ["ping_pong", "--roundtrips", "10"], cpus=(0, 1),
               timeout=30)
    assert isinstance(r, ContainerResult)
    assert r.returncode == 0 and not r.timed_out
    assert r.stdout == '{"iteration": 0}\n' and r.stderr == "diagnostics\n"
    assert r.rusage.max_rss == 2048 * 1024 and r.rusage.user == 0.25 and r.rusage.voluntary == 11
    assert r.cgroup_peak == 9084928
    assert r.argv == ("./build/cmbench-go", "ping_pong", "--roundtrips", "10")
    (c,) = engine.created
    k = c.kwargs
    assert k["entrypoint"] == ["/bin/sh", "-c", ENTRY, "cmbench-entry"]
    assert k["command"] == [REPORTS, "./build/cmbench-go", "ping_pong", "--roundtrips", "10"]
    assert k["user"] == USER and k["cap_drop"] == ["ALL"] and k["security_opt"] == ["no-new-privileges"]
    assert k["cpuset_cpus"] == "0,1" and k["network_mode"] == "none"
    assert k["mem_limit"] == "2g" and k["memswap_limit"] == "2g" and k["pids_limit"] == 4096
    assert k["environment"]["GOMAXPROCS"] == "1"
    assert k["labels"]["cmbench"] == "1" and k["labels"]["cmbench.session"] == ex.session
    assert c.archives == ["/"]  # the wrapper, copied in before start
    assert c.removed and engine.containers == []


def test_run_program_status_comes_from_the_wrappers_report(engine, impl):
    engine.report = {**GOOD_REPORT, "status": 3 << 8}
    engine.status = 3
    ex = make(engine)
    ex.build(impl)
    assert ex.run(impl, DEFAULT_VARIANT, ["x"], cpus=(0,), timeout=5).returncode == 3


def test_run_timeout_kills_and_removes(engine, impl):
    engine.wait_error = requests.exceptions.ReadTimeout("read timed out")
    engine.report = None
    ex = make(engine)
    ex.build(impl)
    r = ex.run(impl, DEFAULT_VARIANT, ["x"], cpus=(0,), timeout=0.1)
    assert r.timed_out and r.returncode == -9
    assert engine.created[0].killed == ["SIGKILL"]
    assert engine.containers == []
    assert r.rusage.max_rss == 9084928  # the cgroup's peak stands in when the wrapper could not report


def test_run_ctrl_c_removes_the_container(engine, impl):
    engine.wait_error = KeyboardInterrupt()
    ex = make(engine)
    ex.build(impl)
    with pytest.raises(KeyboardInterrupt):
        ex.run(impl, DEFAULT_VARIANT, ["x"], cpus=(0,), timeout=5)
    assert engine.containers == [] and engine.created[0].removed


def test_oom_kill_is_said_in_stderr(engine, impl):
    engine.status, engine.oom, engine.report = 137, True, None
    ex = make(engine)
    ex.build(impl)
    r = ex.run(impl, DEFAULT_VARIANT, ["x"], cpus=(0,), timeout=5)
    assert r.returncode == -9 and "OOM killer" in r.stderr


def test_run_without_an_image_is_a_user_error(engine, impl):
    with pytest.raises(UserError, match="cmbench build --executor docker --impl go/goroutines"):
        make(engine).run(impl, DEFAULT_VARIANT, ["x"], cpus=(0,), timeout=5)


def test_run_uses_an_earlier_image_without_build(engine, impl, capsys):
    make(engine).build(impl)
    r = make(engine).run(impl, DEFAULT_VARIANT, ["x"], cpus=(0,), timeout=5)
    assert r.returncode == 0
    assert "using the image built earlier" in capsys.readouterr().err


def test_close_removes_this_sessions_leftovers(engine, impl):
    ex = make(engine)
    ex.build(impl)
    box = ex._container(impl, DEFAULT_VARIANT, ["x"], (0,), "none")
    other = FakeContainer(engine, {"labels": {"cmbench": "1", "cmbench.session": "another"}})
    engine.containers.append(other)
    ex.close()
    assert box.c.removed and not other.removed and engine.closed


def test_server_lines_memory_and_stop(engine, impl, monkeypatch):
    monkeypatch.setattr(docker_executor, "host_cgroup", lambda pid, cid: None)
    ex = make(engine)
    ex.build(impl)
    running = ex.start(impl, DEFAULT_VARIANT, ["http_server", "--port", "8080"], cpus=(1,))
    (c,) = engine.created
    assert c.kwargs["network_mode"] == "host"
    assert running.read_line(5) == '{"ready": true, "port": 8080}\n'
    assert running.read_line(5) == "second\n"
    assert running.read_line(5) is None and running.read_line(0.01) is None
    assert running.alive()
    assert running.memory() == 4000  # usage - inactive file pages, from the stats API
    result = running.stop(grace=1)
    assert c.killed == ["SIGTERM"] and result.returncode == 0 and result.rusage.voluntary == 11
    assert result.stdout == "" and not running.alive() and running.stop() is result
    assert engine.containers == []


def test_server_memory_from_the_host_cgroup(engine, impl, monkeypatch, tmp_path):
    folder = tmp_path / "cg"
    folder.mkdir()
    (folder / "memory.usage_in_bytes").write_text("10000\n")
    (folder / "memory.stat").write_text("cache 5000\ntotal_inactive_file 3000\n")
    monkeypatch.setattr(docker_executor, "host_cgroup", lambda pid, cid: (folder, 1))
    ex = make(engine)
    ex.build(impl)
    running = ex.start(impl, DEFAULT_VARIANT, ["http_server"], cpus=(1,))
    try:
        assert running.memory() == 7000
    finally:
        running.stop()


def test_limits_from_env(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\n")
    assert Limits.from_env({}, meminfo) == Limits("12000m", 32768)
    assert Limits.from_env({"CMBENCH_DOCKER_MEMORY": "4g", "CMBENCH_DOCKER_PIDS_LIMIT": "1000"}, meminfo) \
        == Limits("4g", 1000)
    with pytest.raises(UserError, match="CMBENCH_DOCKER_MEMORY"):
        Limits.from_env({"CMBENCH_DOCKER_MEMORY": "lots"}, meminfo)
    with pytest.raises(UserError, match="CMBENCH_DOCKER_PIDS_LIMIT"):
        Limits.from_env({"CMBENCH_DOCKER_PIDS_LIMIT": "-1"}, meminfo)


def test_every_implementation_has_a_dockerfile_whose_bases_have_stand_ins(project_root: Path):
    from harness.catalog import load_catalog
    from harness.executors.base_recipe import load_recipes
    from harness.executors.docker_image import read_dockerfile

    catalog = load_catalog(project_root)
    book = load_recipes(project_root / "impls")
    assert catalog.impls
    for impl in catalog.impls.values():
        df = read_dockerfile(impl)
        assert df.bases, f"{df.path}: the base must come from a build argument"
        for arg in df.bases:
            assert book.for_image(df.args[arg], impl.path), f"{df.path}: no stand-in for {df.args[arg]}"
        assert df.ignore, f"{df.path}: needs a Dockerfile.dockerignore"


def test_placeholders_are_replaced_inside_a_word_too():
    from harness.executors.base import command_line
    from harness.executors.base import expand as expand_native
    from harness.manifests.model import Impl

    assert expand_native(["node", "--v8-pool-size={cpus}", "-Dx={python}/y"], 4, "/v/bin/python") == [
        "node", "--v8-pool-size=4", "-Dx=/v/bin/python/y"]
    assert expand(["--v8-pool-size={cpus}", "{python}-c"], 2) == ["--v8-pool-size=2", "python3-c"]
    impl = Impl(id="node/event-loop", path=Path("."), language="node", model="event-loop", description="",
                workloads=("ping_pong",), toolchain_check=("node",), toolchain_hint="", run=("node", "--p={cpus}"))
    variant = Variant(name="v", args=("--threads={cpus}x",))
    assert command_line(impl, variant, ["ping_pong"], 3) == ["node", "--p=3", "ping_pong", "--threads=3x"]

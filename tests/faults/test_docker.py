"""Containers of a harness killed by SIGKILL: removed by the next session that talks to the engine."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from harness.console import Console
from harness.executors.base_recipe import load_recipes
from harness.executors.docker import DockerExecutor
from harness.executors.docker_base import Bases
from harness.measure.liveness import identity

from .conftest import assert_none_left, env_for, fault, marker

PROJECT = Path(__file__).resolve().parents[2]


class _Container:
    def __init__(self, engine: _Engine, labels: dict[str, str]) -> None:
        self.engine = engine
        self.labels = labels

    def remove(self, force: bool = False) -> None:
        self.engine.containers.remove(self)


class _Engine:
    """Just enough of the engine's client for the sweep: list by label, remove."""

    def __init__(self) -> None:
        self.containers: list[_Container] = []

    def list(self, all: bool = False, filters: dict | None = None) -> list[_Container]:
        key, value = filters["label"].split("=", 1)
        return [c for c in self.containers if c.labels.get(key) == value]


class _Client:
    def __init__(self, engine: _Engine) -> None:
        self.containers = engine


def _finished_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@fault("docker-harness-killed")
def test_only_containers_of_harnesses_that_are_gone_are_removed(tmp_path):
    engine = _Engine()
    me = identity()
    dead = {**me, "pid": _finished_pid()}
    elsewhere = {**dead, "host": "another-host"}
    for who in (me, dead, elsewhere, None):
        labels = {"cmbench": "1"} | ({"cmbench.harness": json.dumps(who)} if who else {})
        engine.containers.append(_Container(engine, labels))
    with open(tmp_path / "console.txt", "w") as stream:
        executor = DockerExecutor(connector=lambda: _Client(engine), console=Console(stream=stream))
        assert executor.client.containers is engine
    left = [json.loads(c.labels.get("cmbench.harness", "null")) for c in engine.containers]
    assert left == [me, elsewhere, None]
    assert "removed 1 container(s) left by cmbench sessions that were killed" in (tmp_path / "console.txt").read_text()


HARNESS = """
import sys, time
from harness.executors.base_recipe import load_recipes
from harness.executors.docker import DockerExecutor
from harness.executors.docker_base import Bases
executor = DockerExecutor()
c = executor.client.containers.run(sys.argv[1], ["sleep", "300"], detach=True,
                                   labels={**executor.labels, "cmbench.test": sys.argv[2]})
print(c.id, flush=True)
time.sleep(300)
"""


@pytest.mark.integration
@fault("docker-harness-killed")
def test_a_container_outlives_a_killed_harness_only_until_the_next_session(tmp_path):
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as e:  # no engine here
        pytest.skip(f"no docker engine: {e}")
    # the project's own Debian stand-in (built here on a machine that has none; later docker tests reuse it)
    image = Bases(client, Console(), mode="local", recipes=load_recipes(PROJECT / "impls")).ensure("debian-bookworm")
    tag = uuid.uuid4().hex
    mine = {"label": f"cmbench.test={tag}"}
    tmpdir = marker("docker")
    try:
        harness = subprocess.Popen([sys.executable, "-c", HARNESS, image, tag], stdout=subprocess.PIPE, text=True,
                                   env=env_for(tmpdir))
        container = harness.stdout.readline().strip()
        assert container, "the harness started no container"
        harness.send_signal(signal.SIGKILL)
        harness.communicate(timeout=30)
        assert [c.id for c in client.containers.list(filters=mine)] == [container]  # still running
        with open(tmp_path / "console.txt", "w") as stream:
            executor = DockerExecutor(console=Console(stream=stream))
            try:
                assert executor.client is not None  # the next session's first word with the engine
            finally:
                executor.close()
        assert "removed 1 container(s)" in (tmp_path / "console.txt").read_text()
        assert client.containers.list(all=True, filters=mine) == []
    finally:
        for c in client.containers.list(all=True, filters=mine):
            c.remove(force=True)
        client.close()
        assert_none_left(tmpdir)

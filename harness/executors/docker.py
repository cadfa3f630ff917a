"""The docker executor: each implementation in its own image, each process in its own container.

Build: the implementation's own build command runs natively (as with the native executor),
then its Dockerfile copies the artifacts onto a runtime base image (see docker_image and
docker_base). Run: one container per process, pinned with a CPU set, as an unprivileged user
with every capability dropped, no-new-privileges, a pids and a memory limit, no network for
batch workloads and the host's network for servers. Inside, the program runs under the same
rusage-exec wrapper as natively, so its rusage (CPU, peak RSS, context switches) is measured
the same way; the container's cgroup peak memory is kept beside it (ContainerResult).

Every container carries the labels `cmbench=1`, `cmbench.session=<id>` and `cmbench.harness`
(the harness's pid, start time, host and boot, harness/measure/liveness.py); each is removed when its
process has been collected, on failure, timeout and Ctrl-C, and `close` removes any left with
this session's label. A harness killed with SIGKILL can do neither, so the first time a session
talks to the engine it removes every cmbench container whose harness, on this host, is gone.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from harness.console import Console
from harness.errors import UserError
from harness.executors.base import BuildResult, Toolchain, command_line
from harness.executors.base import expand as expand_placeholders
from harness.executors.docker_base import BaseError, Bases, glibc_newer_than_bases, prune_images
from harness.executors.docker_container import (
    Container,
    ContainerResult,
    Limits,
    cgroup_usage,
    host_cgroup,
    stats_usage,
)
from harness.executors.docker_image import (
    ImageError,
    context_files,
    context_tar,
    image_repository,
    input_digest,
    read_dockerfile,
    stream_build,
)
from harness.executors.native import NativeExecutor
from harness.manifests.model import Impl, Variant
from harness.measure.liveness import gone, identity
from harness.measure.memory import TreeMemory
from harness.vocab import fmt_bytes

PYTHON_IN_IMAGE = "python3"
CONNECT_TIMEOUT = 300  # seconds per engine API call (builds and waits set their own)


def expand(words: Sequence[str], cpus: int) -> list[str]:
    """The placeholders of a command as they read inside an image: {cpus}, and {python} -> python3."""
    return expand_placeholders(words, cpus, PYTHON_IN_IMAGE)


def container_env(variant: Variant) -> dict[str, str]:
    """The whitelisted environment of a container: the image's own, plus a locale, a home and the variant's."""
    return {"LANG": "C.UTF-8", "HOME": "/tmp", **variant.env}


def connect():
    """A client for the engine DOCKER_HOST names (or the local socket); UserError when there is none."""
    try:
        import docker
    except ImportError:
        raise UserError("--executor docker needs the Python package docker: pip install 'docker>=7'") from None
    where = os.environ.get("DOCKER_HOST", "the local socket /var/run/docker.sock")
    try:
        client = docker.from_env(timeout=CONNECT_TIMEOUT)
        client.ping()
    except Exception as e:  # the SDK raises DockerException or requests errors, wrapped variously
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"docker: no engine reachable at {where} ({first[:200]}); "
                        "start dockerd or set DOCKER_HOST") from None
    return client


class DockerExecutor:
    name = "docker"

    def __init__(self, *, connector=connect, console: Console | None = None, native: NativeExecutor | None = None,
                 bases: Bases | None = None, limits: Limits | None = None) -> None:
        self._connector = connector
        self._client = None
        self.console = console or Console()
        self.native = native or NativeExecutor()
        self._bases = bases
        self.limits = limits or Limits.from_env()
        self.session = os.urandom(6).hex()
        self.labels = {"cmbench": "1", "cmbench.session": self.session, "cmbench.harness": json.dumps(identity())}
        self.images: dict[str, str] = {}  # impl id -> image tag built or found this session
        self._engine = ""
        self._warned_glibc = False

    # --- the engine ----------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = self._connector()
            self._remove_stale()
        return self._client

    def _remove_stale(self) -> None:
        """Remove the containers of cmbench sessions on this host whose harness is gone (killed, say)."""
        removed = 0
        try:
            for c in self._client.containers.list(all=True, filters={"label": "cmbench=1"}):
                labels = getattr(c, "labels", None) or c.attrs.get("Config", {}).get("Labels") or {}
                try:
                    who = json.loads(labels.get("cmbench.harness", "null"))
                except ValueError:
                    continue
                if gone(who):
                    c.remove(force=True)
                    removed += 1
        except Exception as e:  # the engine's errors vary; a failed sweep must not stop this session
            self.console.say(f"docker: could not look for containers left by earlier sessions: {str(e)[:200]}")
            return
        if removed:
            self.console.say(f"docker: removed {removed} container(s) left by cmbench sessions that were killed")

    @property
    def bases(self) -> Bases:
        if self._bases is None:
            self._bases = Bases(self.client, self.console)
        return self._bases

    def engine_version(self) -> str:
        if not self._engine:
            v = self.client.version()
            self._engine = f"docker engine {v.get('Version', '?')}"
        return self._engine

    # --- the Executor protocol -----------------------------------------------------------------

    def toolchain(self, impl: Impl) -> Toolchain:
        """The engine (UserError when absent) and the implementation's native toolchain for its artifacts."""
        engine = self.engine_version()
        native = self.native.toolchain(impl)
        if not native.present:
            return native
        return Toolchain(True, f"{native.version}; {engine}")

    def build(self, impl: Impl) -> BuildResult:
        """The native build, then the image (skipped when its inputs are unchanged)."""
        began = time.perf_counter()
        built = self.native.build(impl)
        if not built.ok:
            return built
        try:
            self.images[impl.id] = self._image(impl)
        except (ImageError, BaseError) as e:
            return BuildResult(False, time.perf_counter() - began, str(e))
        return BuildResult(True, time.perf_counter() - began, "")

    def argv(self, impl: Impl, variant: Variant, args: Sequence[str], cpus: int) -> list[str]:
        return command_line(impl, variant, args, cpus, PYTHON_IN_IMAGE)

    def provenance(self, impl: Impl) -> dict[str, str]:
        """The image the implementation runs in: its tag and its content id."""
        try:
            tag = self._existing_image(impl)
            return {"image": tag, "image_id": self.client.images.get(tag).id}
        except Exception as e:  # an engine that went away must not end the run; the case will say why
            return {"image": "", "image_error": str(e)[:200]}

    def run(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int],
            timeout: float) -> ContainerResult:
        box = self._container(impl, variant, args, cpus, network="none")
        try:
            box.start()
            status, timed_out = box.wait(timeout)
            return box.result(status, timed_out)
        finally:
            box.remove()

    def start(self, impl: Impl, variant: Variant, args: Sequence[str], *, cpus: Sequence[int]) -> DockerRunning:
        box = self._container(impl, variant, args, cpus, network="host")
        try:
            return DockerRunning(self.client, box)
        except BaseException:
            box.remove()
            raise

    def close(self) -> None:
        """Remove every container this session left (after Ctrl-C, say) and drop the client."""
        if self._client is None:
            return
        import docker.errors

        try:
            for c in self._client.containers.list(all=True, filters={"label": f"cmbench.session={self.session}"}):
                try:
                    c.remove(force=True)
                except docker.errors.NotFound:
                    pass
        finally:
            self._client.close()
            self._client = None

    # --- containers and images -------------------------------------------------------------------

    def _container(self, impl: Impl, variant: Variant, args: Sequence[str], cpus: Sequence[int],
                   network: str) -> Container:
        argv = self.argv(impl, variant, args, len(cpus))
        return Container(self.client, self._existing_image(impl), argv, env=container_env(variant), cpus=cpus,
                         network=network, limits=self.limits, labels={**self.labels, "cmbench.impl": impl.id})

    def _existing_image(self, impl: Impl) -> str:
        """The image built this session, else the newest one built for this implementation before."""
        if impl.id in self.images:
            return self.images[impl.id]
        found = self.client.images.list(filters={"label": f"org.cmbench.impl={impl.id}"})
        if not found:
            raise UserError(f"docker: no image for {impl.id}; build it: "
                            f"cmbench build --executor docker --impl {impl.id}")
        newest = max(found, key=lambda i: i.attrs.get("Created", ""))
        tag = next(iter(newest.tags), newest.id)
        self.console.say(f"docker: {impl.id}: using the image built earlier, {tag} (this session built none)")
        self.images[impl.id] = tag
        return tag

    def _image(self, impl: Impl) -> str:
        """The implementation's image tag, built when no image with the same inputs exists."""
        import docker.errors

        df = read_dockerfile(impl)
        buildargs, base_ids = {}, {}
        for arg in df.bases:
            ref = self.bases.resolve(df.args[arg], impl.path)
            buildargs[arg] = ref
            base_ids[arg] = self.client.images.get(ref).id
        files = context_files(df)
        digest = input_digest(df, files, buildargs, base_ids)
        tag = f"{image_repository(impl)}:{digest[:16]}"
        try:
            self.client.images.get(tag)
            self.console.say(f"docker: {impl.id}: image {tag} is up to date")
            return tag
        except docker.errors.ImageNotFound:
            pass
        self._warn_glibc()
        began = time.perf_counter()
        with context_tar(df, files) as ctx:
            try:
                stream_build(self.client, ctx, tag=tag, dockerfile=df.relpath, buildargs=buildargs,
                             network_mode="host", labels={"org.cmbench.impl": impl.id, "org.cmbench.inputs": digest})
            except ImageError as e:
                raise ImageError(f"docker build {df.path}: {e}") from None
            except docker.errors.APIError as e:
                raise ImageError(f"docker build {df.path}: {e.explanation or e}") from None
        size = self.client.images.get(tag).attrs.get("Size", 0)
        self.console.say(f"docker: {impl.id}: built {tag} in {time.perf_counter() - began:.1f} s ({fmt_bytes(size)})")
        prune_images(self.client, f"org.cmbench.impl={impl.id}", tag)
        return tag

    def _warn_glibc(self) -> None:
        newer = glibc_newer_than_bases()
        if newer and not self._warned_glibc:
            self._warned_glibc = True
            self.console.say(f"docker: this host's {newer} is newer than the base images' (Debian bookworm); "
                             "binaries linked here may not start in them: verify will tell")


class DockerRunning:
    """A server in a container: stdout lines from the log stream, memory from the cgroup, stop with SIGTERM."""

    def __init__(self, client, box: Container) -> None:
        self.client = client
        self.box = box
        self.argv = box.argv
        self.result: ContainerResult | None = None
        box.start()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._cgroup: tuple[Path, int] | None = None
        self._reader = threading.Thread(target=self._read, name=f"logs-{box.id[:12]}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        pending = b""
        try:
            for chunk in self.box.c.logs(stream=True, follow=True, stdout=True, stderr=False):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self._lines.put(line.decode("utf-8", "replace") + "\n")
        except Exception:  # the stream ends with an error when the container is removed under it
            pass
        finally:
            if pending:
                self._lines.put(pending.decode("utf-8", "replace"))
            self._lines.put(None)

    def read_line(self, timeout: float) -> str | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self._lines.put(None)  # stays at the end for later calls
        return line

    def alive(self) -> bool:
        if self.result is not None:
            return False
        try:
            self.box.c.reload()
        except Exception:
            return False
        return self.box.c.status == "running"

    def memory(self) -> int:
        """The cgroup's current usage without inactive file pages, in bytes; 0 once it has stopped."""
        if self.result is not None:
            return 0
        if self._cgroup is None:
            pid = int(self.box.c.attrs.get("State", {}).get("Pid") or 0)
            if not pid:
                self.box.c.reload()
                pid = int(self.box.c.attrs.get("State", {}).get("Pid") or 0)
            self._cgroup = host_cgroup(pid, self.box.id) if pid else None
        if self._cgroup is not None:
            return cgroup_usage(*self._cgroup)
        try:
            return stats_usage(self.client.api.stats(self.box.id, stream=False))
        except Exception:
            return 0

    def tree_memory(self) -> TreeMemory:
        """The container's cgroup usage: every process in it, page cache excluded as in `memory`."""
        usage = self.memory()
        return TreeMemory(usage, None, 1 if usage else 0, source="cgroup")

    def stderr_text(self) -> str:
        if self.result is not None:
            return self.result.stderr
        return self.box.logs(stdout=False)

    def stop(self, grace: float = 5.0) -> ContainerResult:
        if self.result is not None:
            return self.result
        try:
            self.box.kill("SIGTERM")
            status, timed_out = self.box.wait(grace)
            self.result = self.box.result(status, timed_out, stdout=False)
        finally:
            self.box.remove()
        return self.result

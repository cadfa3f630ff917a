"""Benchmark hosts on this machine for the cluster tests: a worker image, a scheduler and workers on a
private Docker network, and a controller beside them.

The image is the docker executor's `python3` stand-in (Debian bookworm's Python 3.11, built with
debootstrap when no registry is reachable) plus the installed files of the distributions a
measuring host needs (distributed, pyperf, numpy, hdrhistogram, docker, diptest, psutil, and what they require),
copied from this environment, plus the static rusage-exec wrapper, the load generators (wrk and
oha, with the shared libraries this Debian bookworm host links them against that the image lacks)
and the HTTP helpers the harness would otherwise compile there (the headroom responder and the
relay; the image has no compiler). It is tagged by the hash of
those inputs, so it is built once per machine (the base takes minutes the first time; this
layer about half a minute). Every process of a test, the controller included, runs in it, so
that the controller and the hosts have the same interpreter (the fixture implementations'
toolchain is that interpreter). The project is a snapshot: the tracked and untracked files of
this checkout, committed into a throwaway git repository, mounted read-only at /cmbench.

Every container and network carries the label `org.cmbench.test=cluster` and one session label;
`Cluster.close` removes them, also after a failure, and checks that none is left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from harness.console import Console
from harness.executors.base_recipe import (
    PYTHON_SITE,
    FileList,
    Recipe,
    RecipeBook,
    dist_closure,
    dist_files,
    load_recipes,
)
from harness.executors.docker_base import Bases
from harness.kinds.server.generator import relay_path
from harness.kinds.server.headroom import responder_path
from harness.kinds.server.loadgen import find_tool
from harness.measure.wrapper import wrapper_path

PROJECT = Path(__file__).resolve().parents[2]
MOUNT = "/cmbench"
ROOT = f"{MOUNT}/tests/fixtures/root"
# What a measuring host imports; the reporting stack (pandas, matplotlib, seaborn) stays out.
HOST_DISTRIBUTIONS = ("distributed", "pyperf", "numpy", "hdrhistogram", "docker", "diptest", "psutil")
LOAD_GENERATORS = ("wrk", "oha")
# What the python3 stand-in has already: the C library and the compiler's runtime.
BASE_LIBRARIES = ("libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libgcc_s.so", "ld-linux")
LIBRARY_DIR = "/usr/lib/x86_64-linux-gnu"
LABEL = "org.cmbench.test"
SESSION_LABEL = "org.cmbench.test.session"


def host_files() -> FileList:
    files: FileList = []
    for dist in dist_closure(HOST_DISTRIBUTIONS):
        files.extend(dist_files(dist, PYTHON_SITE))
    pth = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cmbench" / "cluster-test-cmbench.pth"
    pth.parent.mkdir(parents=True, exist_ok=True)
    pth.write_text(MOUNT + "\n")  # the mounted project on every interpreter's path, children included
    files.append((pth, f"{PYTHON_SITE}/cmbench-project.pth"))
    for helper in (wrapper_path(), responder_path(), relay_path()):  # where `compiled` looks for them
        files.append((helper, f"/root/.cache/cmbench/{helper.name}"))
    for tool in LOAD_GENERATORS:
        path = find_tool(tool)
        if path is None:
            raise RuntimeError(f"{tool} is not installed here; the cluster hosts copy it from this machine")
        files.append((Path(path).resolve(), f"/usr/local/bin/{tool}"))
        files.extend((lib, f"{LIBRARY_DIR}/{soname}") for soname, lib in shared_libraries(path))
    return files


def shared_libraries(program: str) -> list[tuple[str, Path]]:
    """(soname, file) of each shared library `program` loads that the base image does not have (from ldd)."""
    out = subprocess.run(["ldd", program], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        name, sep, rest = line.strip().partition(" => ")
        if sep and rest.startswith("/") and not name.startswith(BASE_LIBRARIES):
            found.append((name, Path(rest.split()[0]).resolve()))
    return found


class HostRecipe(Recipe):
    """A recipe made in code: its files are this venv's distributions a host imports, not a [[copy]] list."""

    def files(self) -> FileList:
        return host_files()


HOST_RECIPE = HostRecipe(
    "cluster-test-host",
    "python3 + what a measuring cmbench host imports (cluster tests)",
    parent="python3",
    run=("python3 -c 'import distributed, numpy, pyperf, hdrh, docker, diptest, psutil'",
         "wrk -v 2>&1 | grep -q '^wrk '", "oha --version"),
)


def host_image(client) -> str:
    """The worker image's tag, built first when this machine does not have it."""
    book = load_recipes(PROJECT / "impls")
    recipes = RecipeBook({**book.recipes, HOST_RECIPE.name: HOST_RECIPE}, book.shared, book.own)
    return Bases(client, Console(), mode="local", recipes=recipes).ensure(HOST_RECIPE.name)


def snapshot(dest: Path, *, extra_commit: bool = False) -> Path:
    """This checkout's files (tracked and untracked, not ignored), committed into a new repository at `dest`."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=PROJECT, check=True, capture_output=True
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = PROJECT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    git = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot"], cwd=dest, check=True, env=env)
    if extra_commit:
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "another commit"], cwd=dest, check=True, env=env)
    return dest


class Cluster:
    """A scheduler and workers on their own network; controllers run beside them."""

    def __init__(self, client, image: str, checkout: Path, *, tls: Path | None = None) -> None:
        self.client = client
        self.image = image
        self.checkout = checkout
        self.tls = tls  # folder with ca.pem, node.pem, node.key
        self.session = uuid.uuid4().hex[:10]
        self.labels = {LABEL: "cluster", SESSION_LABEL: self.session}
        self.network = client.networks.create(f"cmbench-cluster-{self.session}", labels=self.labels)
        self.scheme = "tls" if tls else "tcp"
        self.address = f"{self.scheme}://scheduler-{self.session}:8786"
        self.containers: dict[str, object] = {}

    def _tls_args(self) -> list[str]:
        if not self.tls:
            return []
        return ["--tls-ca-file", "/tls/ca.pem", "--tls-cert", "/tls/node.pem", "--tls-key", "/tls/node.key"]

    def _run(self, role: str, command: list[str], *, checkout: Path | None = None, out: Path | None = None):
        volumes = {str(checkout or self.checkout): {"bind": MOUNT, "mode": "ro"}}
        if self.tls:
            volumes[str(self.tls)] = {"bind": "/tls", "mode": "ro"}
        if out:
            volumes[str(out)] = {"bind": "/out", "mode": "rw"}
        name = f"cmbench-cluster-{self.session}-{role}"
        container = self.client.containers.run(
            self.image,
            command,
            name=name,
            hostname=role if role != "scheduler" else f"scheduler-{self.session}",
            network=self.network.name,
            labels=self.labels,
            volumes=volumes,
            working_dir=MOUNT,
            detach=True,
            environment={"PYTHONUNBUFFERED": "1"},
        )
        self.containers[role] = container
        return container

    def start_scheduler(self) -> None:
        command = ["python3", "-m", "dask", "scheduler", "--no-dashboard", "--port", "8786"]
        if self.tls:
            command += ["--protocol", "tls", *self._tls_args()]
        self._run("scheduler", command)
        self.wait_log("scheduler", "Scheduler at:")

    def start_worker(self, name: str, *, checkout: Path | None = None, wait: str = "serving",
                     loadgen: bool = False) -> None:
        self._run(
            name,
            ["python3", "-m", "cmbench", "--root", ROOT, "worker", self.address, "--name", name, *self._tls_args(),
             *(["--loadgen"] if loadgen else [])],
            checkout=checkout,
        )
        self.wait_log(name, wait)

    def plan(self, *args: str) -> dict:
        """What `cmbench plan --json ARGS` prints in a container: the plan as the controller makes it."""
        container = self._run(f"plan-{uuid.uuid4().hex[:4]}", ["python3", "-m", "cmbench", "--root", ROOT, "plan",
                                                                 *args, "--json"])
        code = container.wait(timeout=120)["StatusCode"]
        if code != 0:
            raise AssertionError(f"cmbench plan exited {code}: {container.logs().decode()[-3000:]}")
        return json.loads(container.logs(stdout=True, stderr=False).decode())

    def controller(self, out: Path, *args: str):
        """Start `cmbench run --cluster` in its own container, writing to `out` (mounted at /out)."""
        name = f"controller-{uuid.uuid4().hex[:4]}"
        return self._run(
            name,
            ["python3", "-m", "cmbench", "--root", ROOT, "run", "--cluster", self.address, *self._tls_args(), *args],
            out=out,
        )

    def logs(self, role: str) -> str:
        return self.containers[role].logs().decode("utf-8", "replace")

    def wait_log(self, role: str, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = self.logs(role)
            if text in logs:
                return logs
            self.containers[role].reload()
            if self.containers[role].status == "exited":
                break
            time.sleep(0.3)
        raise AssertionError(f"{role}: no {text!r} within {timeout:g} s:\n{self.logs(role)[-3000:]}")

    def processes(self, role: str, pattern: str) -> list[str]:
        """Command lines in a running container that contain `pattern` (none when it is not running)."""
        container = self.containers[role]
        container.reload()
        if container.status != "running":
            return []
        code, out = container.exec_run(["python3", "-c", _PS], demux=False)
        return [line for line in out.decode().splitlines() if pattern in line]

    def kill(self, role: str, signal: str = "SIGKILL") -> None:
        self.containers[role].kill(signal=signal)

    def close(self) -> None:
        for container in self.client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={self.session}"}):
            container.remove(force=True)
        self.network.remove()
        left = self.client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={self.session}"})
        nets = self.client.networks.list(filters={"label": f"{SESSION_LABEL}={self.session}"})
        assert not left and not nets, f"left behind: {[c.name for c in left]} {[n.name for n in nets]}"


# `ps` is not in a minbase image: read /proc
_PS = """
import os
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            print(open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())
        except OSError:
            pass
"""


def make_certificates(folder: Path) -> Path:
    """A throwaway CA and one certificate for every node (Dask checks the CA, not host names)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cmbench test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "node")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("node")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "node.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "node.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder

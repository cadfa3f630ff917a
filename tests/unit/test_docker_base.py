"""Base images: the Debian mirror, resolving registry images or stand-ins, building stand-ins (faked)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import docker.errors
import pytest

from harness.console import Console
from harness.errors import UserError
from harness.executors import docker_base
from harness.executors.base_recipe import Copy, Recipe, RecipeBook, load_recipes
from harness.executors.docker_base import (
    BaseError,
    Bases,
    base_mode,
    debian_mirror,
    glibc_newer_than_bases,
    mounts_under,
    slim_rootfs,
)
from harness.measure.process import ChildResult, Rusage

from ..conftest import PROJECT

BOOK = load_recipes(PROJECT / "impls")


def test_mirror_from_deb822(tmp_path, monkeypatch):
    monkeypatch.delenv("CMBENCH_DEBIAN_MIRROR", raising=False)
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
        "URIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n")
    (d / "other.list.disabled-by-farm").write_text("deb http://wrong.example/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources_with_options(tmp_path, monkeypatch):
    monkeypatch.delenv("CMBENCH_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list").write_text(
        "# a comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] https://one.example/debian bookworm main contrib\n")
    assert debian_mirror(tmp_path) == "https://one.example/debian"


def test_mirror_skips_disabled_stanzas_and_other_suites(tmp_path, monkeypatch):
    monkeypatch.delenv("CMBENCH_DEBIAN_MIRROR", raising=False)
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "a.sources").write_text("Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
                                 "Types: deb\nURIs: http://trixie.example/debian\nSuites: trixie\n")
    assert debian_mirror(tmp_path) == docker_base.FALLBACK_MIRROR


def test_mirror_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBENCH_DEBIAN_MIRROR", "http://local.example/debian")
    assert debian_mirror(tmp_path) == "http://local.example/debian"


def test_slim_rootfs_keeps_copyright_and_drops_caches(tmp_path):
    root = tmp_path / "rootfs"
    files = ["var/cache/apt/archives/libc6_2.36_amd64.deb", "var/cache/apt/pkgcache.bin",
             "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "usr/share/man/man1/ls.1.gz",
             "usr/share/locale/de/LC_MESSAGES/x.mo", "usr/share/locale/locale.alias",
             "usr/share/doc/bash/copyright", "usr/share/doc/bash/README.gz", "usr/share/doc/empty/NEWS.gz",
             "usr/bin/bash", "var/lib/apt/lists/lock"]
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("x")
    slim_rootfs(root)
    left = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert left == ["etc/apt/apt.conf.d/90cmbench-slim", "etc/dpkg/dpkg.cfg.d/cmbench-slim", "usr/bin/bash",
                    "usr/share/doc/bash/copyright", "usr/share/locale/locale.alias", "var/lib/apt/lists/lock"]
    assert not (root / "usr/share/doc/empty").exists()


def test_mounts_under_lists_deepest_first(tmp_path):
    root = tmp_path / "work"
    info = tmp_path / "mountinfo"
    info.write_text(
        f"22 1 0:21 / /proc rw - proc proc rw\n"
        f"90 22 0:5 / {root}/rootfs/proc rw - proc proc rw\n"
        f"91 90 0:6 / {root}/rootfs/proc/sys/fs/binfmt_misc rw - binfmt_misc x rw\n"
        f"92 1 0:7 / {root}2/elsewhere rw - tmpfs t rw\n")
    assert mounts_under(root, info) == [f"{root}/rootfs/proc/sys/fs/binfmt_misc", f"{root}/rootfs/proc"]


def test_glibc_comparison():
    assert glibc_newer_than_bases("glibc 2.36") is None
    assert glibc_newer_than_bases("glibc 2.31") is None
    assert glibc_newer_than_bases("glibc 2.39") == "glibc 2.39"
    assert glibc_newer_than_bases("") is None


def test_mode_from_env(monkeypatch):
    monkeypatch.setenv("CMBENCH_DOCKER_BASES", "local")
    assert base_mode() == "local"
    monkeypatch.setenv("CMBENCH_DOCKER_BASES", "sometimes")
    with pytest.raises(UserError, match="CMBENCH_DOCKER_BASES"):
        base_mode()


def test_stand_ins_name_real_recipes_with_parents():
    assert {"debian:bookworm-slim", "eclipse-temurin:17-jre", "eclipse-temurin:25-jre",
            "python:3.11-slim-bookworm"} <= set(BOOK.shared)
    for recipe in BOOK.recipes.values():
        assert not (recipe.packages and recipe.parent), recipe.name
        if recipe.parent:
            assert recipe.parent in BOOK.recipes and recipe.copies, recipe.name


# --- resolving and building, with a fake engine and a fake debootstrap --------------------------


class Image:
    def __init__(self, ref: str, labels: dict | None = None) -> None:
        self.tags = [ref]
        self.id = "sha256:" + ref.replace("/", "_").replace(":", "_")
        self.attrs = {"Size": 75 * 2**20, "Labels": labels or {}}


class Images:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, ref):
        if ref not in self.engine.images:
            raise docker.errors.ImageNotFound(ref)
        return self.engine.images[ref]

    def pull(self, image):
        self.engine.pulls.append(image)
        if image not in self.engine.registry:
            raise docker.errors.APIError("Get \"https://registry-1.docker.io/v2/\": dial tcp: no such host")
        self.engine.images[image] = Image(image)

    def list(self, filters=None):
        key, value = filters["label"].split("=", 1)
        return [i for i in self.engine.images.values() if i.attrs["Labels"].get(key) == value]

    def remove(self, image_id):
        for ref, i in list(self.engine.images.items()):
            if i.id == image_id:
                del self.engine.images[ref]


class Api:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def import_image_from_file(self, filename, repository, tag, changes):
        self.engine.imports.append((Path(filename).name, f"{repository}:{tag}", changes))
        labels = dict(c[len("LABEL "):].split("=", 1) for c in changes if c.startswith("LABEL "))
        self.engine.images[f"{repository}:{tag}"] = Image(f"{repository}:{tag}", labels)

    def build(self, fileobj, tag, labels, **kwargs):
        with tarfile.open(fileobj=fileobj) as tar:
            dockerfile = tar.extractfile("Dockerfile").read().decode()
            names = tar.getnames()
        self.engine.builds.append((tag, dockerfile, names))
        if self.engine.build_error:
            yield {"stream": "Step 2/2 : RUN false\n"}
            yield {"stream": "\x1b[91mmissing libnotthere.so.9\n\x1b[0m"}  # a RUN's stderr, as the engine colours it
            yield {"error": self.engine.build_error}
            return
        self.engine.images[tag] = Image(tag, labels)
        yield {"stream": "Successfully built\n"}


class Engine:
    def __init__(self, registry=()) -> None:
        self.images: dict[str, Image] = {}
        self.registry = set(registry)
        self.pulls: list[str] = []
        self.imports: list[tuple] = []
        self.builds: list[tuple] = []
        self.build_error = ""  # the error every build ends with ("": builds succeed)
        self.images_api = Images(self)
        self.api = Api(self)

    @property
    def client(self):
        return type("Client", (), {"images": self.images_api, "api": self.api})()


class FakeDebootstrap:
    """Stands in for debootstrap and tar: makes a tiny tree and a tarball."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv, *, cwd, env, timeout, measure):
        self.calls.append(list(argv))
        ok = ChildResult(tuple(argv), 0, "", "", 0.1, Rusage(0, 0, 0, 0, 0), False)
        if "debootstrap" in Path(argv[0]).name:
            if self.fail:
                return ChildResult(tuple(argv), 1, "", "E: Couldn't download packages: libc6\n", 0.1,
                                   Rusage(0, 0, 0, 0, 0), False)
            rootfs = Path(argv[-2])
            (rootfs / "usr/bin").mkdir(parents=True)
            (rootfs / "usr/bin/sh").write_text("#!")
            (rootfs / "var/cache/apt/archives").mkdir(parents=True)
            (rootfs / "var/cache/apt/archives/x.deb").write_text("deb")
        elif argv[0] == "tar":
            Path(argv[argv.index("-cf") + 1]).write_bytes(b"tar")
        return ok


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(docker_base, "find_debootstrap", lambda: "/usr/sbin/debootstrap")
    monkeypatch.setattr(docker_base.os, "geteuid", lambda: 0)
    return tmp_path / "cache"


def test_present_image_is_used_as_is(cache):
    engine = Engine()
    engine.images["debian:bookworm-slim"] = Image("debian:bookworm-slim")
    bases = Bases(engine.client, Console(), recipes=BOOK, mode="auto", mirror="http://m/debian",
                  runner=FakeDebootstrap())
    assert bases.resolve("debian:bookworm-slim") == "debian:bookworm-slim"
    assert engine.pulls == []


def test_pullable_image_is_pulled(cache):
    engine = Engine(registry=["debian:bookworm-slim"])
    bases = Bases(engine.client, Console(), recipes=BOOK, mode="auto", mirror="http://m/debian",
                  runner=FakeDebootstrap())
    assert bases.resolve("debian:bookworm-slim") == "debian:bookworm-slim"
    assert engine.pulls == ["debian:bookworm-slim"]


def test_no_registry_builds_the_stand_in_once(cache, capsys):
    engine = Engine()
    run = FakeDebootstrap()
    bases = Bases(engine.client, Console(), recipes=BOOK, mode="auto", mirror="http://m/debian", runner=run)
    ref = bases.resolve("debian:bookworm-slim")
    assert ref.startswith("cmbench-base/debian-bookworm:") and ref in engine.images
    debootstrap = run.calls[0]
    assert debootstrap[1] == "--variant=minbase" and debootstrap[-3:-2] == ["bookworm"]
    assert debootstrap[-1] == "http://m/debian"
    (name, imported, changes) = engine.imports[0]
    assert imported == ref and "ENV LANG=C.UTF-8" in changes
    assert any(c.startswith("LABEL org.cmbench.base=debian-bookworm") for c in changes)
    err = capsys.readouterr().err
    assert "no registry reachable for debian:bookworm-slim" in err and "debootstrap" in err
    assert not any(p.name.startswith("rootfs-") for p in cache.joinpath("cmbench").iterdir())  # work tree removed

    again = Bases(engine.client, Console(), recipes=BOOK, mode="auto", mirror="http://m/debian", runner=run)
    assert again.resolve("debian:bookworm-slim") == ref
    assert len(run.calls) == 2  # debootstrap + tar, once


def test_packages_are_included(cache):
    engine = Engine()
    run = FakeDebootstrap()
    bases = Bases(engine.client, Console(), recipes=BOOK, mode="local", mirror="http://m/debian", runner=run)
    bases.ensure("openjdk17")
    assert "--include=openjdk-17-jre-headless" in run.calls[0]


def test_derived_stand_in_copies_files_onto_its_parent(cache, tmp_path, monkeypatch):
    runtime = tmp_path / "java-runtime"
    (runtime / "bin").mkdir(parents=True)
    (runtime / "bin" / "cmbench-test-java").write_text("#!/bin/sh\n")
    (runtime / "bin" / "cmbench-test-java").chmod(0o755)
    monkeypatch.setenv("PATH", f"{runtime / 'bin'}:/usr/bin:/bin")
    java25 = Recipe("java25", "test", image="eclipse-temurin:25-jre", parent="debian-bookworm",
                    copies=(Copy(Path("java25.toml"), 0, "/opt/java/openjdk", program="cmbench-test-java",
                                 part="home"),),
                    env=(("JAVA_HOME", "/opt/java/openjdk"),), run=("java -version",))
    book = RecipeBook({**BOOK.recipes, "java25": java25}, BOOK.shared, {})
    engine = Engine()
    bases = Bases(engine.client, Console(), recipes=book, mode="local", mirror="http://m/debian",
                  runner=FakeDebootstrap())
    ref = bases.resolve("eclipse-temurin:25-jre")
    tag, dockerfile, names = engine.builds[0]
    assert tag == ref
    parent = bases.ref("debian-bookworm")
    assert dockerfile.splitlines()[:2] == [f"FROM {parent}", "COPY rootfs/ /"]
    assert "ENV JAVA_HOME=/opt/java/openjdk" in dockerfile and "RUN java -version" in dockerfile
    assert "rootfs/opt/java/openjdk/bin/cmbench-test-java" in names
    before = bases.digest("java25")
    (runtime / "bin" / "cmbench-test-java").write_text("#!/bin/sh\n# newer\n")
    assert Bases(engine.client, Console(), recipes=book, mode="local", mirror="m").digest("java25") != before


def test_missing_host_program_is_a_one_line_build_error(cache, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    copy = Copy(Path("impls/x/y/base.toml"), 0, "/usr/local/bin/cmbench-no-such", program="cmbench-no-such",
                hint="install it")
    own = Recipe("xy", "test", path=Path("impls/x/y/base.toml"), image="x:1", parent="debian-bookworm",
                 copies=(copy,))
    book = RecipeBook({**BOOK.recipes, "xy": own}, BOOK.shared, {Path("/p/impls/x/y"): own})
    bases = Bases(Engine().client, Console(), recipes=book, mode="local", mirror="m", runner=FakeDebootstrap())
    with pytest.raises(BaseError) as e:
        bases.resolve("x:1", Path("/p/impls/x/y"))
    assert str(e.value) == ("impls/x/y/base.toml: field 'copy[0].program' 'cmbench-no-such' is not on PATH: "
                            "install it")


@pytest.mark.parametrize(("run", "env"), [(("ldconfig -p | grep -q libstdc++",), ()), ((), (("A", "1"),))])
def test_derived_stand_in_without_copies_has_no_copy_step(cache, run, env):
    own = Recipe("xy", "test", path=Path("impls/x/y/base.toml"), image="x:1", parent="debian-bookworm", run=run,
                 env=env)
    book = RecipeBook({**BOOK.recipes, "xy": own}, {**BOOK.shared, "x:1": "xy"}, {})
    engine = Engine()
    bases = Bases(engine.client, Console(), recipes=book, mode="local", mirror="m", runner=FakeDebootstrap())
    ref = bases.resolve("x:1")
    tag, dockerfile, names = engine.builds[0]
    assert tag == ref and names == ["Dockerfile"]
    assert dockerfile.splitlines() == [f"FROM {bases.ref('debian-bookworm')}",
                                       *(f"ENV {k}={v}" for k, v in env), *(f"RUN {c}" for c in run)]


def test_failing_run_command_names_the_recipe_file_and_field(cache):
    own = Recipe("xy", "test", path=Path("impls/x/y/base.toml"), image="x:1", parent="debian-bookworm",
                 run=("true", "x --version"))
    book = RecipeBook({**BOOK.recipes, "xy": own}, {**BOOK.shared, "x:1": "xy"}, {})
    engine = Engine()
    bases = Bases(engine.client, Console(), recipes=book, mode="local", mirror="m", runner=FakeDebootstrap())
    bases.ensure("debian-bookworm")
    engine.build_error = "The command '/bin/sh -c x --version' returned a non-zero code: 127"
    with pytest.raises(BaseError) as e:
        bases.resolve("x:1")
    assert str(e.value) == (f"impls/x/y/base.toml: field 'run[1]' 'x --version' failed in the stand-in "
                            f"{bases.ref('xy')}: The command '/bin/sh -c x --version' returned a non-zero code: 127 "
                            "| Step 2/2 : RUN false | missing libnotthere.so.9")


def test_registry_mode_never_builds(cache):
    engine = Engine()
    bases = Bases(engine.client, Console(), recipes=BOOK, mode="registry", mirror="m", runner=FakeDebootstrap())
    with pytest.raises(BaseError, match="CMBENCH_DOCKER_BASES=registry"):
        bases.resolve("debian:bookworm-slim")


def test_unknown_image_without_registry(cache):
    bases = Bases(Engine().client, Console(), recipes=BOOK, mode="auto", mirror="m", runner=FakeDebootstrap())
    with pytest.raises(BaseError, match="no base recipe stands in for it: declare one in .*base.toml") as e:
        bases.resolve("alpine:3.20")
    assert "stand-ins exist for debian:bookworm-slim" in str(e.value)


def test_debootstrap_failure_is_one_line(cache):
    bases = Bases(Engine().client, Console(), recipes=BOOK, mode="local", mirror="m", runner=FakeDebootstrap(fail=True))
    with pytest.raises(BaseError) as e:
        bases.resolve("debian:bookworm-slim")
    assert "debootstrap for base" in str(e.value) and "Couldn't download" in str(e.value)
    assert "\n" not in str(e.value)


def test_not_root_is_a_clear_error(cache, monkeypatch):
    monkeypatch.setattr(docker_base.os, "geteuid", lambda: 1000)
    bases = Bases(Engine().client, Console(), recipes=BOOK, mode="local", mirror="m", runner=FakeDebootstrap())
    with pytest.raises(BaseError, match="needs root"):
        bases.resolve("debian:bookworm-slim")


def test_missing_debootstrap_is_a_clear_error(cache, monkeypatch):
    monkeypatch.setattr(docker_base, "find_debootstrap", lambda: None)
    bases = Bases(Engine().client, Console(), recipes=BOOK, mode="local", mirror="m", runner=FakeDebootstrap())
    with pytest.raises(BaseError, match="apt-get install debootstrap"):
        bases.ensure("debian-bookworm")


def test_digest_depends_on_the_recipe(cache, monkeypatch):
    bases = Bases(Engine().client, Console(), recipes=BOOK, mode="local", mirror="m")
    plain, java = bases.digest("debian-bookworm"), bases.digest("openjdk17")
    assert plain != java and len(plain) == 64
    other = Bases(Engine().client, Console(), recipes=BOOK, mode="local", mirror="other")
    assert other.digest("debian-bookworm") == plain


def test_prune_spares_the_kept_the_young_and_the_used(cache):
    from datetime import UTC, datetime, timedelta

    engine = Engine()
    now = datetime.now(UTC)
    for ref, age in (("cmbench/x:new", 0), ("cmbench/x:old", 7200), ("cmbench/x:recent", 60),
                     ("cmbench/x:used", 7200), ("cmbench/y:old", 7200)):
        image = Image(ref, {"org.cmbench.impl": ref.split(":")[0][-1]})
        image.attrs["Created"] = (now - timedelta(seconds=age)).isoformat().replace("+00:00", "Z")
        engine.images[ref] = image
    refuse = engine.images_api.remove

    def remove(image_id):
        if "used" in image_id:
            raise docker.errors.APIError("conflict: image is being used by a stopped container")
        refuse(image_id)

    engine.images_api.remove = remove
    removed = docker_base.prune_images(engine.client, "org.cmbench.impl=x", "cmbench/x:new")
    assert removed == [engine_id("cmbench/x:old")]
    assert sorted(engine.images) == ["cmbench/x:new", "cmbench/x:recent", "cmbench/x:used", "cmbench/y:old"]


def engine_id(ref: str) -> str:
    return Image(ref).id

"""Implementation images: Dockerfile parsing, the build context, the input hash, build errors."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from harness.executors.docker_image import (
    ImageError,
    context_files,
    context_tar,
    image_repository,
    input_digest,
    parse_dockerfile,
    read_dockerfile,
    stream_build,
    tree_digest,
)

JAVA = """\
# comment
ARG BASE=eclipse-temurin:17-jre
ARG JAVA25="eclipse-temurin:25-jre"
FROM ${JAVA25} AS java25
FROM $BASE
ARG LATE=ignored
COPY --from=java25 /opt/java/openjdk \\
     /opt/java25
RUN ln -s /opt/java25/bin/java /usr/local/bin/java25
"""


def test_parse_bases_and_defaults(tmp_path):
    df = parse_dockerfile(tmp_path / "m" / "Dockerfile", tmp_path, JAVA)
    assert df.bases == ("JAVA25", "BASE")
    assert df.args == {"BASE": "eclipse-temurin:17-jre", "JAVA25": "eclipse-temurin:25-jre"}
    assert df.relpath == "m/Dockerfile"


def test_literal_from_is_not_a_base(tmp_path):
    df = parse_dockerfile(tmp_path / "Dockerfile", tmp_path, "FROM debian:bookworm-slim AS build\nFROM build\n")
    assert df.bases == ()


@pytest.mark.parametrize("text, message", [
    ("RUN true\n", "no FROM line"),
    ("ARG BASE\nFROM ${BASE}\n", "needs `ARG BASE=<image>`"),
    ("FROM ${BASE}\n", "needs `ARG BASE=<image>`"),
])
def test_parse_errors_name_the_file(tmp_path, text, message):
    with pytest.raises(ImageError, match=message) as e:
        parse_dockerfile(tmp_path / "Dockerfile", tmp_path, text)
    assert str(tmp_path / "Dockerfile") in str(e.value)


class _Impl:
    def __init__(self, path: Path, impl_id: str = "java/virtual-threads") -> None:
        self.path = path
        self.id = impl_id


def _tree(tmp_path: Path) -> _Impl:
    lang = tmp_path / "impls" / "rust"
    files = {
        "threads/Dockerfile": "ARG BASE=debian:bookworm-slim\nFROM ${BASE}\n"
                              "COPY target/release/cmbench-rust-threads /app/target/release/\n",
        "threads/Dockerfile.dockerignore": "# only the binary\n*\n!target/release/cmbench-rust-threads\n",
        "threads/src/main.rs": "fn main() {}\n",
        "target/release/cmbench-rust-threads": "ELF",
        "target/release/deps/huge.rlib": "lots",
        "tokio/src/main.rs": "fn main() {}\n",
    }
    for rel, text in files.items():
        (lang / rel).parent.mkdir(parents=True, exist_ok=True)
        (lang / rel).write_text(text)
    os.chmod(lang / "target/release/cmbench-rust-threads", 0o755)
    return _Impl(lang / "threads", "rust/threads")


def test_context_is_the_language_folder_filtered_by_the_ignore_file(tmp_path):
    impl = _tree(tmp_path)
    df = read_dockerfile(impl)
    assert df.context == impl.path.parent
    assert context_files(df) == ("target/release/cmbench-rust-threads", "threads/Dockerfile")
    with context_tar(df, context_files(df)) as f, tarfile.open(fileobj=f) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"target/release/cmbench-rust-threads", "threads/Dockerfile"}
    assert members["target/release/cmbench-rust-threads"].mode & 0o111
    assert members["threads/Dockerfile"].uid == 0


def test_without_an_ignore_file_the_context_root_one_applies(tmp_path):
    impl = _tree(tmp_path)
    (impl.path / "Dockerfile.dockerignore").unlink()
    (impl.path.parent / ".dockerignore").write_text("target\n")
    files = context_files(read_dockerfile(impl))
    assert "threads/src/main.rs" in files and not any(f.startswith("target/") for f in files)


def test_missing_dockerfile(tmp_path):
    impl = _Impl(tmp_path / "impls" / "c" / "pthreads")
    impl.path.mkdir(parents=True)
    with pytest.raises(ImageError, match="Dockerfile: not found; every implementation needs a Dockerfile"):
        read_dockerfile(impl)


def test_digest_follows_inputs_only(tmp_path):
    impl = _tree(tmp_path)
    df = read_dockerfile(impl)

    def digest(args=None, ids=None) -> str:
        d = read_dockerfile(impl)
        return input_digest(d, context_files(d), args or {"BASE": "base:1"}, ids or {"BASE": "sha256:aa"})

    first = digest()
    (df.context / "threads/src/main.rs").write_text("fn main() { println!(); }\n")  # not in the context
    assert digest() == first
    assert digest(ids={"BASE": "sha256:bb"}) != first  # another base image
    assert digest(args={"BASE": "base:2"}) != first
    os.chmod(df.context / "target/release/cmbench-rust-threads", 0o644)
    assert digest() != first  # the executable bit counts
    os.chmod(df.context / "target/release/cmbench-rust-threads", 0o755)
    assert digest() == first
    (df.context / "target/release/cmbench-rust-threads").write_text("ELF2")
    assert digest() != first


def test_tree_digest_sees_names_contents_and_links(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("1")
    first = tree_digest(tmp_path / "a")
    (tmp_path / "a" / "l").symlink_to("x")
    second = tree_digest(tmp_path / "a")
    assert second != first
    (tmp_path / "a" / "x").write_text("2")
    assert tree_digest(tmp_path / "a") != second
    assert tree_digest(tmp_path / "a" / "x") != tree_digest(tmp_path / "a")


def test_repository_names_are_docker_safe():
    assert image_repository(_Impl(Path("."), "java/virtual-threads")) == "cmbench/java-virtual-threads"
    assert image_repository(_Impl(Path("."), "C/Pthreads")) == "cmbench/c-pthreads"


class _Api:
    def __init__(self, chunks):
        self.chunks = chunks
        self.kwargs = {}

    def build(self, **kwargs):
        self.kwargs = kwargs
        yield from self.chunks


def test_stream_build_error_carries_the_error_and_tail():
    api = _Api([{"stream": "Step 1/2 : FROM x\n"}, {"stream": " ---> abc\n"},
                {"stream": "Step 2/2 : RUN false\n"}, {"stream": " ---> Running in 123\n"},
                {"error": "The command '/bin/sh -c false' returned a non-zero code: 1\nmore"}])
    client = type("C", (), {"api": api})()
    with pytest.raises(ImageError) as e:
        stream_build(client, None, tag="t")
    text = str(e.value)
    assert text.startswith("The command '/bin/sh -c false' returned a non-zero code: 1 | Step 1/2")
    assert "Step 2/2 : RUN false" in text and "--->" not in text and "\n" not in text
    assert api.kwargs["rm"] and api.kwargs["forcerm"] and api.kwargs["custom_context"]


def test_stream_build_error_has_no_terminal_colours():
    api = _Api([{"stream": "Step 2/2 : RUN ./check\n"}, {"stream": "\x1b[91mmissing libnotthere.so.9\n\x1b[0m"},
                {"error": "\x1b[91mThe command '/bin/sh -c ./check' returned a non-zero code: 1\x1b[0m"}])
    with pytest.raises(ImageError) as e:
        stream_build(type("C", (), {"api": api})(), None, tag="t")
    assert str(e.value) == ("The command '/bin/sh -c ./check' returned a non-zero code: 1 | Step 2/2 : RUN ./check | "
                            "missing libnotthere.so.9")


def test_stream_build_returns_the_log():
    client = type("C", (), {"api": _Api([{"stream": "Step 1/1 : FROM x\n"}, {"aux": {"ID": "sha256:1"}}])})()
    assert stream_build(client, None, tag="t") == ["Step 1/1 : FROM x"]

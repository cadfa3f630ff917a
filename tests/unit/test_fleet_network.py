"""The network between a fleet's hosts: the generator host's reach check before a phase, the relay's one peer,
and the one-line answers to TLS and address mistakes (session.py, tls.py)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Mapping

import pytest

from harness.cluster.session import check_reach, split_address
from harness.cluster.tls import make_security
from harness.errors import UserError
from harness.kinds.server.generator import CLOSED, PROBE, RelayCost, RemoteGenerator, Unreachable, relay, run_job

from ..integration.cluster_env import make_certificates


class LocalLink:
    """The channel, with the generator's host being this process (what serve_channel would do with a job)."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    def call(self, job) -> Mapping:
        self.jobs.append(job.tool)
        return run_job(job)

    def replacement(self):
        return None


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that accepts and holds connections: the server a relay is joined to."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_phase_checks_that_the_generator_host_reaches_the_relay_first(listener):
    link = LocalLink()
    gen = RemoteGenerator(link, "127.0.0.1", "lg1", {"wrk": "/usr/bin/wrk"}, server="b1", peer="127.0.0.1")
    with gen.reach(listener, [0]) as target:
        assert target.host == "127.0.0.1" and target.port != listener
    assert link.jobs == [PROBE]


def test_a_generator_host_that_cannot_reach_the_server_loses_the_phase_at_once_naming_the_network(listener):
    port = free_port()  # nobody listens there: what a firewall between the hosts looks like to a connect
    link = LocalLink()
    gen = RemoteGenerator(link, "127.0.0.1", "lg4", {}, server="b1")
    began = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        gen._check(type("T", (), {"host": "127.0.0.1", "port": port})())
    assert time.monotonic() - began < 5
    text = str(caught.value)
    assert caught.value.status == "lost" and text.startswith("network: load generator host lg4 cannot reach host b1")
    assert f"127.0.0.1:{port}" in text


def test_the_relay_serves_the_generator_hosts_address_only(listener):
    for allow, reached in (("127.0.0.1", True), ("127.0.0.2", False)):
        with relay("127.0.0.1", listener, [0], RelayCost(), allow=allow) as target:
            answer = run_job_probe(target)
        assert (answer == "") == reached, (allow, answer)
        if not reached:
            assert answer == CLOSED


def run_job_probe(target) -> str:
    gen = RemoteGenerator(LocalLink(), "127.0.0.1", "lg", {}, server="b", peer="127.0.0.2")
    try:
        gen._check(target)
    except Unreachable as e:
        assert "serves the generator host's cluster address 127.0.0.2 only" in str(e)
        return CLOSED
    return ""


@pytest.mark.parametrize("address", ["scheduler:8786", "http://a:1", "tcp://a", "tcp://:8786"])
def test_a_scheduler_address_that_is_not_one_is_one_line(address):
    with pytest.raises(UserError, match="tcp://HOST:PORT"):
        split_address(address)


def test_tls_without_certificates_says_what_to_pass(monkeypatch):
    monkeypatch.setattr("harness.cluster.tls.configured", lambda: False)
    with pytest.raises(UserError, match="needs --tls-ca-file, --tls-cert and --tls-key"):
        make_security("tls://scheduler:8786", None, None, None)
    assert make_security("tcp://scheduler:8786", None, None, None) is None


def test_no_scheduler_is_said_in_one_line_after_the_wait():
    with pytest.raises(UserError, match="cannot reach the scheduler: none answered within 0 s"):
        check_reach(f"tcp://127.0.0.1:{free_port()}", None, wait=0)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A TLS server that requires a client certificate of its CA, as a Dask scheduler started with TLS does."""
    folder = make_certificates(tmp_path_factory.mktemp("tls") / "fleet")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "node.pem", folder / "node.key")
    context.load_verify_locations(folder / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tls://127.0.0.1:{server.getsockname()[1]}", folder
    stop.set()
    thread.join()
    server.close()


def test_tls_mistakes_are_one_line_naming_the_file(tls_server, tmp_path):
    address, fleet = tls_server
    other = make_certificates(tmp_path / "other")

    def security(ca, cert):
        return make_security(address, str(ca / "ca.pem"), str(cert / "node.pem"), str(cert / "node.key"))

    check_reach(address, security(fleet, fleet), "worker", wait=0)  # the right files: no word
    with pytest.raises(UserError, match="not signed by the CA of --tls-ca-file .*other/ca.pem"):
        check_reach(address, security(other, fleet), "worker", wait=0)
    with pytest.raises(UserError, match="refused this node's certificate --tls-cert .*other/node.pem"):
        check_reach(address, security(fleet, other), "client", wait=0)

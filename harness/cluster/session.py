"""Reaching a fleet's scheduler: a quick look that turns TLS and address mistakes into one line, and Dask's log.

Dask retries a connection until its timeout and then names neither the certificate nor the CA at
fault; a TLS mistake shows as "no scheduler answered" after 30 s, or as a traceback. So before
Dask connects, `check_reach` opens one TCP connection to the scheduler itself (and with TLS makes
the handshake with the same certificates Dask will use, with Python's ssl) and says in one line
what is wrong and what to pass. Dask's own log lines (and the tracebacks it logs when a peer goes
away) go to a file (`DaskLog`), not to the console, where they would bury cmbench's messages.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cluster.identity import CONNECT_TIMEOUT
from harness.errors import UsageError, UserError

if TYPE_CHECKING:
    from distributed import Client
    from distributed.security import Security

REACH_TIMEOUT = 5.0  # seconds for the look at the scheduler's port (and the TLS handshake)
ANSWER_WAIT = 1.0  # seconds to wait for a refusal of this node's certificate after the handshake
# The loggers Dask's configuration gives a console handler, and those whose lines it lets fall to Python's last resort.
DASK_LOGGERS = ("distributed", "distributed.client", "distributed.gc", "bokeh", "tornado", "tornado.application",
                "asyncio", "py.warnings")


def split_address(address: str) -> tuple[str, str, int]:
    """`tls://host:8786` -> ("tls", "host", 8786); UserError for what is not a scheduler address."""
    scheme, sep, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if not sep or scheme not in ("tcp", "tls") or not host or not port.isdigit():
        raise UsageError(f"{address}: not a scheduler address; pass tcp://HOST:PORT or tls://HOST:PORT "
                        "(the address `dask scheduler` prints)")
    return scheme, host.strip("[]"), int(port)


def connect(address: str, security: Security | None, timeout: float = CONNECT_TIMEOUT,
            flag: str = "--cluster") -> Client:
    """A Dask client of the scheduler at `address` (after `check_reach`); UserError when there is none. `flag`: the
    option that gave the address, for messages."""
    from distributed import Client

    check_reach(address, security, "client", wait=timeout, flag=flag)
    where = f"{flag} {address}" if flag else address
    try:
        return Client(address, security=security, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        text = str(e).splitlines()[0][:200]
        hint = ("; a scheduler started with TLS resets plain connections: use its tls:// address and --tls-*"
                if "reset" in text.lower() and address.startswith("tcp://") else "")
        raise UserError(f"{where}: cannot reach the scheduler ({text}); start one with `dask scheduler` and check "
                        f"the address{hint}") from None


def check_reach(address: str, security: Security | None, role: str = "client", wait: float = CONNECT_TIMEOUT,
                clock: Callable[[], float] = time.monotonic, flag: str = "") -> None:
    """One line (UserError) when the scheduler at `address` cannot be reached or TLS would fail; `role`: the
    certificate Dask uses here (`client` for a controller, `worker` for a host). A port that does not answer is
    tried again for `wait` seconds (a scheduler starting beside the worker); a TLS mistake is said at once."""
    scheme, host, port = split_address(address)
    hint = f"start one with `dask scheduler{' --protocol tls ...' if scheme == 'tls' else ''}` and check the address"
    deadline = clock() + wait
    while True:
        try:
            raw = socket.create_connection((host, port), timeout=REACH_TIMEOUT)
            break
        except OSError as e:
            if clock() + 1.0 > deadline:
                where = f"{flag} {address}" if flag else address
                raise UserError(f"{where}: cannot reach the scheduler: none answered within {wait:g} s "
                                f"({e.strerror or e}); {hint}") from None
            time.sleep(1.0)
    with raw:
        if scheme != "tls":
            return
        if security is None:  # Dask's configuration holds the certificates (tls.configured)
            from distributed.security import Security

            security = Security()
        context = security.get_connection_args(role)["ssl_context"]
        ca, cert = security.tls_ca_file, getattr(security, f"tls_{role}_cert", None)
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                tls.settimeout(ANSWER_WAIT)
                try:  # TLS 1.3 tells a client that its certificate was refused only on the first read
                    tls.recv(1)
                except TimeoutError:
                    pass
        except ssl.SSLCertVerificationError as e:
            raise UserError(f"{address}: the scheduler's certificate is not signed by the CA of --tls-ca-file {ca} "
                            f"({e.verify_message}); pass the CA that signed the scheduler's certificate") from None
        except ssl.SSLError as e:
            reason = e.reason or str(e)
            if "WRONG_VERSION" in reason.upper() or "RECORD_LAYER" in reason.upper():
                raise UserError(f"{address}: the scheduler does not speak TLS ({reason}); use its tcp:// address, "
                                "or start it with `dask scheduler --protocol tls`") from None
            raise UserError(f"{address}: the scheduler refused this node's certificate --tls-cert {cert} ({reason}); "
                            "pass a certificate (and its key) signed by the CA the scheduler trusts") from None
        except OSError as e:
            raise UserError(f"{address}: the TLS handshake failed ({e}); check the --tls-* files") from None


class DaskLog(logging.Handler):
    """Dask's log lines, into a file rather than onto the console; kept in memory until the file is named."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        self.path: Path | None = None
        self._held: list[str] = []
        self._file = None

    @classmethod
    def install(cls) -> DaskLog:
        """Take Dask's loggers off the console (after `import distributed`, which gives them a handler)."""
        import distributed  # noqa: F401  (configures Dask's loggers; they are taken over below)

        handler = cls()
        logging.captureWarnings(True)
        for name in DASK_LOGGERS:
            logger = logging.getLogger(name)
            for old in list(logger.handlers):
                if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
                    logger.removeHandler(old)
            logger.addHandler(handler)
            logger.propagate = False
        return handler

    def to(self, path: Path) -> Path:
        """From now on (and what came before), into `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.acquire()
        try:
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115  (open for the process's life)
            self.path = path
            self._file.write("".join(line + "\n" for line in self._held))
            self._file.flush()
            self._held = []
        finally:
            self.release()
        return path

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            return
        if self._file is None:
            self._held.append(line)
            del self._held[:-1000]
            return
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError:
            pass

"""Dask's TLS for a fleet: the security object built from the --tls-* flags."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError, UserError

if TYPE_CHECKING:
    from distributed.security import Security


def make_security(address: str, ca_file: str | None, cert: str | None, key: str | None) -> Security | None:
    """Dask's TLS settings from the flags (all three or none); None leaves them to Dask's configuration."""
    given = {"--tls-ca-file": ca_file, "--tls-cert": cert, "--tls-key": key}
    if not any(given.values()):
        if address.startswith("tls://") and not configured():
            raise UsageError(f"{address}: a tls:// scheduler needs --tls-ca-file, --tls-cert and --tls-key (the CA "
                            "that signed the fleet's certificates, and this node's certificate and key), or the same "
                            "in Dask's configuration (distributed.comm.tls.*)")
        return None
    missing = [flag for flag, value in given.items() if not value]
    if missing:
        raise UsageError(f"{missing[0]}: TLS needs --tls-ca-file, --tls-cert and --tls-key together")
    for flag, value in given.items():
        if not Path(value).is_file():
            raise UserError(f"{flag} {value}: file not found")
    if not address.startswith("tls://"):
        raise UsageError(f"--tls-*: given for {address}; use a tls:// address (the scheduler's, started with TLS)")
    from distributed.security import Security

    return Security(
        tls_ca_file=ca_file,
        tls_client_cert=cert,
        tls_client_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        require_encryption=True,
    )


def configured() -> bool:
    """Dask's configuration names a CA and a certificate of this node (what `tls://` needs without --tls-*)."""
    from distributed.security import Security

    found = Security()  # read from distributed.comm.tls.* of Dask's configuration
    return bool(found.tls_ca_file and (found.tls_client_cert or found.tls_worker_cert))

import pytest


class QuietWatch:
    """No other process ever busy: unit tests run fake implementations, whatever else this machine runs."""

    def flags(self) -> list[str]:
        return []


@pytest.fixture(autouse=True)
def quiet_host(monkeypatch):
    """The runner's busy-host watch (harness/host/gate.py) reads the real /proc; unit tests see a quiet host."""
    monkeypatch.setattr("harness.engine.host.OthersWatch", QuietWatch)

"""One signal stops a command once, however the handlers nest."""

import io
import signal
import sys

import pytest

from harness.measure.interrupts import Interrupts, signals_deferred


def test_the_first_signal_raises_and_later_ones_only_say_so_also_after_the_inner_block(capsys):
    with Interrupts():  # the command's
        with pytest.raises(KeyboardInterrupt):
            with Interrupts():  # the run's
                signal.raise_signal(signal.SIGINT)
        # the run is being saved when a late Ctrl-C of the same flurry lands
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGHUP)
    assert capsys.readouterr().err.count("already stopping") == 2
    with pytest.raises(KeyboardInterrupt):  # the next command is stopped again
        with Interrupts():
            signal.raise_signal(signal.SIGINT)


def test_a_signal_during_a_deferred_write_lands_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with Interrupts():
            with signals_deferred():
                signal.raise_signal(signal.SIGINT)
                done.append("written")
    assert done == ["written"]


def test_a_late_signal_that_lands_inside_a_write_to_stderr_neither_raises_nor_breaks_that_write(monkeypatch, capfd):
    """A flurry of Ctrl-C: one lands while the clean-up prints to stderr. Its "already stopping" cannot go
    through the buffer being written (a reentrant write raises RuntimeError), so it goes to the descriptor."""
    written = []

    class Raw(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            if not written:
                signal.raise_signal(signal.SIGINT)  # the handler runs here, with the buffer mid-write
            written.append(bytes(b))
            return len(b)

    stream = io.TextIOWrapper(io.BufferedWriter(Raw()), line_buffering=True)
    with Interrupts():
        with pytest.raises(KeyboardInterrupt):
            with Interrupts():
                signal.raise_signal(signal.SIGINT)
        monkeypatch.setattr(sys, "stderr", stream)
        print("2 case(s) not run", file=stream, flush=True)
    assert b"".join(written) == b"2 case(s) not run\n"
    assert "already stopping" in capfd.readouterr().err

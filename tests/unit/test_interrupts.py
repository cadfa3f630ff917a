"""One signal stops a command once, however the handlers nest."""

import signal

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

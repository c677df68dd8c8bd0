"""A vanished terminal can hang the app's shutdown; once the run is saved, the process still ends."""

import threading
import time

from rnn_tui.ui.exit_guard import ExitGuard


def _guard(hang=0.2):
    exiting, done, calls = threading.Event(), threading.Event(), []
    guard = ExitGuard(exiting, done, lambda: 129, hard_exit=calls.append, hang_seconds=hang)
    guard.start()
    return guard, exiting, done, calls


def test_a_hung_shutdown_ends_the_process_only_after_the_save():
    guard, exiting, done, calls = _guard()
    exiting.set()
    time.sleep(0.8)
    assert calls == []  # the trainer has not saved yet: never cut it short
    done.set()
    guard.join(5)
    assert calls == [129]


def test_a_normal_exit_is_left_alone():
    guard, exiting, done, calls = _guard()
    exiting.set()
    done.set()
    guard.returned.set()
    guard.join(5)
    assert calls == [] and not guard.is_alive()


def test_the_guard_goes_when_the_app_returns_without_exiting():
    guard, exiting, done, calls = _guard()
    guard.returned.set()
    guard.join(5)
    assert calls == [] and not guard.is_alive()


def test_with_the_terminal_gone_the_process_ends_soon_after_the_save():
    exiting, done, calls = threading.Event(), threading.Event(), []
    guard = ExitGuard(exiting, done, lambda: 129, hard_exit=calls.append, hang_seconds=30, terminal_alive=lambda: False)
    guard.start()
    exiting.set()
    done.set()
    started = time.monotonic()
    guard.join(10)
    assert calls == [129] and time.monotonic() - started < 5  # not the 30 s a live terminal gets

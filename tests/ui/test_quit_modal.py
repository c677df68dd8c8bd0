"""Leaving the app while the trainer has a process of its own: stop it, leave it running, or stay."""

import signal
import threading

import pytest

from rnn_tui.core.orchestrate import RunRequest
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.screens.quit import QuitScreen


class FakeRemote:
    """The surface of ui.remote.RemoteBridge the quit flow uses, recording what it was asked."""

    can_leave_running = True

    def __init__(self, app, on_hangup="stop"):
        self.on_hangup = on_hangup
        self.request = RunRequest()
        self.done = threading.Event()
        self.results, self.prepared = [], None
        self.stopped, self.detached, self.sent = None, False, []

    def start(self):
        pass

    def send(self, command):
        self.sent.append(command)

    def stop(self, reason="stopped"):
        self.stopped = reason

    def detach(self):
        self.detached = True
        self.done.set()


def app_with(**options):
    return RnnTuiApp(bridge_factory=lambda a: FakeRemote(a, **options))


async def test_q_asks_and_esc_stays_with_the_training_untouched():
    app = app_with()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
        assert app.bridge.stopped is None and not app.bridge.detached and not app.quitting
        await pilot.press("q")  # and it asks again next time
        assert isinstance(app.screen, QuitScreen)


async def test_leave_running_detaches_and_quits_at_once():
    app = app_with()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q", "l")
        await pilot.pause()
    assert app.bridge.detached and app.bridge.stopped is None
    assert app.return_code == 0


@pytest.mark.parametrize("keys", [("q", "s"), ("q", "q"), ("ctrl+c", "s"), ("ctrl+c", "ctrl+c")])
async def test_stop_saves_first_then_quits(keys):
    app = app_with()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        assert app.bridge.stopped == "quit" and not app.bridge.detached
        assert app.is_running  # it waits for the save
        app.bridge.done.set()
        await pilot.pause(0.3)
    assert app.return_code == 0


@pytest.mark.parametrize("policy", ["continue", "stop"])
async def test_a_hang_up_follows_the_policy(policy):
    app = app_with(on_hangup=policy)
    async with app.run_test(size=(80, 24)) as pilot:
        app.on_signal(signal.SIGHUP)
        await pilot.pause()
        if policy == "stop":
            assert app.bridge.stopped == "signal SIGHUP" and not app.bridge.detached
            app.bridge.done.set()
            await pilot.pause(0.3)
        else:
            assert app.bridge.detached and app.bridge.stopped is None
    assert app.return_code == 129


async def test_sigterm_always_stops_the_training():
    app = app_with(on_hangup="continue")
    async with app.run_test(size=(80, 24)) as pilot:
        app.on_signal(signal.SIGTERM)
        await pilot.pause()
        assert app.bridge.stopped == "signal SIGTERM"
        app.bridge.done.set()
        await pilot.pause(0.3)
    assert app.return_code == 143

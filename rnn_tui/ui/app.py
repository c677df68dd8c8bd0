"""The Textual app: composes screens, owns the trainer bridge, routes events. Quitting: ui/quitting.py;
runs started, opened and browsed from inside the app (the playground): ui/playground.py.

It computes nothing itself: trainer events go to the dashboard's widgets as
attributes; snapshots are kept for the gate and sampling screens.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from rnn_tui.ui.base import SHARED_CSS_PATHS, RnnTuiBase, terminal_alive
from rnn_tui.ui.host import HostedScreen
from rnn_tui.ui.messages import CompareMeasured, SetupFailed, SnapshotReady, TrainerEvent
from rnn_tui.ui.playground import PlaygroundFlow
from rnn_tui.ui.quitting import QuitFlow
from rnn_tui.ui.screens.train import TRAIN_CSS, TrainScreen
from rnn_tui.ui.widgets.sample_log import SampleLog
from rnn_tui.ui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from rnn_tui.core import events as ev
    from rnn_tui.core.compare import CompareRow
    from rnn_tui.ui.host import ScreenHost, TrainerCommand

__all__ = ["RnnTuiApp", "terminal_alive"]


class RnnTuiApp(PlaygroundFlow, QuitFlow, RnnTuiBase):
    # Textual loads a pushed screen's CSS_PATH, not the default screen's: the dashboard's is named here.
    CSS_PATH = [*SHARED_CSS_PATHS, TRAIN_CSS]
    # q, ?, F1 and Esc come from RnnTuiBase, as in the viewer.
    BINDINGS = [Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True)]

    def __init__(
        self,
        bridge_factory: Callable[[RnnTuiApp], Any] | None = None,
        viewer: ev.Snapshot | None = None,
        compare: bool = False,
        runs_root: Path | None = None,
        bridge_maker: Callable[[RnnTuiApp, Any], Any] | None = None,
        attach_maker: Callable[[RnnTuiApp, Any], Any] | None = None,
        home: bool = False,
    ) -> None:
        super().__init__()
        from rnn_tui.core.compare import CompareCollector

        self.bridge = bridge_factory(self) if bridge_factory else None
        self.bridges: list[Any] = [self.bridge] if self.bridge is not None else []  # every run this app started
        # The playground: runs started from the home screen and the form (ui/launch.py supplies the makers).
        self.runs_root = runs_root
        self.bridge_maker = bridge_maker
        self.attach_maker = attach_maker
        self.home = home  # opened on the home screen (`rnn-tui` with no corpus)
        self.attached = False  # the current bridge watches a run another process trains
        self.compare = CompareCollector() if compare else None
        self.viewer = viewer  # a Snapshot to browse when there is no training
        self.live_snapshot: ev.Snapshot | None = viewer
        self.browsing: tuple[ev.Snapshot, str] | None = None  # a saved run's weights and folder, opened from home
        self._browse_texts: dict[str, str | None] = {}
        self._gate_sample = ("", "")
        self._dashboard: TrainScreen | None = None
        self._dashboard_mode = "_default"
        self._home_mode = "_default" if home else "home"
        self._runs = 0
        self._pending_begin: tuple | None = None
        self._intro: str | None = None
        self.started: ev.Started | None = None
        self.finished: ev.Finished | None = None
        self.failed: ev.Failed | None = None
        self.quitting = False  # stopping (or leaving) is under way
        self.asking_quit = False  # the stop-or-leave question is on screen
        self.exiting = threading.Event()  # set as the app begins to exit (see ui/exit_guard.py)
        self.exit_code = 0

    def get_default_screen(self) -> Screen:
        if self.home:
            from rnn_tui.ui.screens.home import HomeScreen

            return HomeScreen(self._runs_root())
        self._dashboard = TrainScreen()
        return self._dashboard

    @property
    def latest_snapshot(self) -> ev.Snapshot | None:
        """The weights the screens show: a saved run's when one is open from home, else the training's."""
        if self.browsing is not None and any(getattr(s, "browse", False) for s in self.screen_stack):
            return self.browsing[0]
        return self.live_snapshot

    @latest_snapshot.setter
    def latest_snapshot(self, snapshot: ev.Snapshot | None) -> None:
        self.live_snapshot = snapshot

    def on_mount(self) -> None:
        # The first screen's mode (home, or the dashboard of `rnn-tui CORPUS`) is Textual's "_default",
        # which switch_mode does not know: name it, so the app can come back to it from another mode.
        self._modes.setdefault(self.DEFAULT_MODE, lambda: self.screen_stack[0])
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self.on_signal, signal.SIGTERM)
            loop.add_signal_handler(signal.SIGHUP, self.on_signal, signal.SIGHUP)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        # RnnTuiBase.on_mount starts the terminal watchdog (_check_terminal, below).
        if self.bridge is not None:  # `rnn-tui CORPUS`; from home, _begin_now starts each run itself
            self.call_after_refresh(self._start)

    def _start(self) -> None:
        if self.bridge is not None:
            self.bridge.start()
            self.status("loading the corpus and building the model\u2026")

    def leave_training_running(self, code: int = 0) -> None:
        from rnn_tui.core.commands import Resume

        if self._dashboard is not None and self._dashboard.state == "paused":
            self.send_command(Resume())  # "left running" means running: paused, it would wait unseen for ever
        super().leave_training_running(code)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own "Quit" would leave without saving; ours below saves first.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Quit")
        if isinstance(screen, TrainScreen):
            yield SystemCommand(
                "Pause or resume training", "Stop or restart the training steps (space)", screen.action_toggle_pause
            )
            yield SystemCommand("Save a checkpoint now", "Write latest.pt in the run folder (s)", screen.action_save)
            yield SystemCommand("Gate view", "Colour each character by a gate's value (g)", self.action_gates)
            yield SystemCommand("Interactive sampling", "Sample from the current weights (i)", self.action_sample)
            yield SystemCommand(
                "Gradient flow", "How far back the gradient reaches, now and at init (f)", self.action_gradflow
            )
            yield SystemCommand(
                "Live-sample temperature up", "Hotter live samples (t)", lambda: screen.action_temperature(1)
            )
            yield SystemCommand(
                "Live-sample temperature down", "Cooler live samples (T)", lambda: screen.action_temperature(-1)
            )
            yield SystemCommand("Toggle bits/nats", "Loss units on the chart (b)", screen.action_toggle_bits)
            yield SystemCommand(
                "Toggle the raw loss curve", "Show or hide the unsmoothed curve (r)", screen.action_toggle_raw
            )
            yield SystemCommand("Step", "While paused: one training step (.)", screen.action_step)
            yield SystemCommand(
                "Learning rate x2", "Double the learning rate from the next step (+)", lambda: screen.action_lr(2.0)
            )
            yield SystemCommand(
                "Learning rate /2", "Halve the learning rate from the next step (-)", lambda: screen.action_lr(0.5)
            )
            yield SystemCommand("Reset", "The same settings from a fresh start, a new seed (R)", screen.action_reset)
            yield SystemCommand("New run", "Pick the text, cell and size of a new run (n)", screen.action_new_run)
            yield SystemCommand("Home", "The saved runs; this one keeps training (h)", self.go_home)
        from rnn_tui.ui.screens.home import HomeScreen

        if isinstance(screen, HomeScreen):
            yield SystemCommand(
                "Open the selected run", "Its dashboard, training on where it stopped (enter)", screen.action_open
            )
            yield SystemCommand("New run", "Pick the text, cell and size (n)", screen.action_new)
            yield SystemCommand(
                "Compare the marked runs", "Overlaid curves and a table (space marks, c)", screen.action_compare
            )
            yield SystemCommand("Rename the selected run", "Give it another name (F2)", screen.action_rename)
            yield SystemCommand("Delete the selected run", "Asks first (d)", screen.action_delete)
            yield SystemCommand("Sort the runs", "Last trained, name, best val, steps (o)", screen.action_sort)
            yield SystemCommand(
                "Sample from the selected run", "Its saved weights (i)", lambda: screen.action_view("sample")
            )
            yield SystemCommand(
                "Gate view of the selected run", "Its saved weights (g)", lambda: screen.action_view("gates")
            )
            yield SystemCommand(
                "Gradient flow of the selected run", "Its saved weights (f)", lambda: screen.action_view("gradflow")
            )
            yield SystemCommand("Mark the selected run", "For a comparison (space)", screen.action_mark)
            yield SystemCommand("Read the runs folder again", "(ctrl+r)", screen.action_refresh)
        yield SystemCommand("Help", "Keys and what the screens show (?)", self.action_help)
        yield SystemCommand("Save and quit", "Stop training, save the run and exit (q)", self.action_request_quit)

    # ---- routing ----------------------------------------------------------
    @property
    def train_screen(self) -> TrainScreen:
        if self._dashboard is None:
            raise LookupError("no dashboard yet")
        return self._dashboard

    def status(self, message: str, level: str = "info") -> None:
        for screen in (self._dashboard, self.screen):  # the dashboard's line, else the screen's own
            if screen is not None and screen.query(StatusLine):
                screen.query(StatusLine).first().say(message, level)
                return
        self.notify(message, severity="error" if level == "error" else "information", markup=False)

    def on_setup_failed(self, message: SetupFailed) -> None:
        if len(self.bridges) > 1 or self.home:  # started from inside the app: say so and go home
            self.notify(message.message, title="Could not start the run", severity="error", timeout=20, markup=False)
            self.go_home()
            return
        self.exit(return_code=message.exit_code, message=Text(f"rnn-tui: error: {message.message}"))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self.live_snapshot = message.snapshot
        for screen in self.screen_stack:
            if isinstance(screen, HostedScreen) and not screen.browse:
                screen.snapshot_arrived(message.snapshot)

    def on_trainer_event(self, message: TrainerEvent) -> None:
        """Route: the dashboard shows the event; the app keeps what outlives a screen and notifies."""
        from rnn_tui.core import events as ev

        event = message.event
        if self.compare is not None:
            self.compare.handle(event)
        from textual.css.query import NoMatches

        try:
            self.train_screen.handle(event, self._model_of() if isinstance(event, ev.Started) else None)
        except NoMatches:  # the dashboard is being taken down (the app exits): its last events have no widgets
            return
        if isinstance(event, ev.Started):
            self.started = event
            self.sub_title = event.run_name
        elif isinstance(event, ev.Notice):
            if event.level != "info":
                self.notify(event.message, severity="error" if event.level == "error" else "warning", markup=False)
        elif isinstance(event, ev.Finished):
            self.finished = event
            if self.quitting:
                self.exit(return_code=self.exit_code)
        elif isinstance(event, ev.Failed):
            self.failed = event
            where = f"; checkpoint {event.checkpoint}" if event.checkpoint else ""
            log = f"; log {event.log_path}" if event.log_path else ""
            self.notify(
                f"{event.message}\n{event.advice}{where}{log}",
                title="Training stopped",
                severity="error",
                timeout=30,
                markup=False,
            )
            if self.quitting:
                self.exit(return_code=self.exit_code)

    def _model_of(self) -> str | None:
        """Which compared model is training, e.g. "model 2 of 3: gru" (the collector has seen its Started)."""
        if self.compare is None or self.compare.current is None:
            return None
        planned = len(self.bridge.request.compare) if self.bridge is not None else 0
        total = f" of {planned}" if planned else ""
        return f"model {len(self.compare.rows)}{total}: {self.compare.current.cell}"

    def on_compare_measured(self, message: CompareMeasured) -> None:
        from rnn_tui.ui.screens.compare import CompareScreen

        if self.compare is None:
            return
        for row in self.compare.rows:
            if row.cell == message.cell:
                row.decay_50 = message.decay
        if isinstance(self.screen, CompareScreen):
            self.screen.refresh_view()
        elif message.cell is None and not self.quitting:
            self.status("comparison finished: press c for the chart and table", "ok")
            self.push_screen(CompareScreen())

    def action_compare(self) -> None:
        from rnn_tui.ui.screens.compare import CompareScreen

        if self.compare is None or not self.compare.rows:
            self.status("no comparison running: start one with --compare rnn,lstm,gru", "warning")
            return
        self.push_screen(CompareScreen())

    # ---- what the screens ask (ScreenHost) ------------------------------------
    def send_command(self, command: TrainerCommand) -> None:
        if self._browsing_now:
            return  # a saved run has no trainer
        if self.bridge is not None:
            self.bridge.send(command)

    def request_snapshot(self) -> None:
        from rnn_tui.core.commands import RequestSnapshot

        if self._browsing_now:
            return  # a saved run's weights do not change
        self.send_command(RequestSnapshot())

    @property
    def training_live(self) -> bool:
        if self._browsing_now:
            return False  # a saved run's weights never change
        return self.bridge is not None and not self.bridge.done.is_set()

    @property
    def run_name(self) -> str | None:
        if self._browsing_now and self.browsing is not None:
            return Path(self.browsing[1]).name or None
        return self.started.run_name if self.started is not None else None

    def compare_rows(self) -> list[CompareRow]:
        return self.compare.rows if self.compare is not None else []

    def gate_text(self, source: str, length: int) -> str | None:
        """Text for the gate view: a slice of the validation text or the latest live sample."""
        if self._browsing_now and self.browsing is not None:
            return self._browse_text(source, length)
        if source == "validation":
            prepared = self.bridge.prepared if self.bridge is not None else None
            if prepared is None:
                return None
            corpus = prepared.corpus
            stop = min(corpus.n_chars, corpus.split_at + length)
            start = corpus.split_at if stop - corpus.split_at >= 50 else max(0, stop - length)
            return corpus.text(start, stop)
        if source == "sample":
            return self.train_screen.query_one(SampleLog).text or None
        return None

    def sample_save_dir(self) -> Path | None:
        if self._browsing_now and self.browsing is not None:
            return Path(self.browsing[1]) / "samples" if self.browsing[1] else None
        prepared = self.bridge.prepared if self.bridge is not None else None
        if prepared is not None:
            return Path(prepared.run.samples_dir)
        return Path(self.started.run_dir) / "samples" if self.started is not None else None

    def pop_screen_or_exit(self) -> None:
        self.pop_screen()
        if self.browsing is not None and not any(getattr(s, "browse", False) for s in self.screen_stack):
            self.browsing = None

    def action_gates(self) -> None:
        from rnn_tui.ui.screens.gates import GatesScreen

        self._open_on_weights(GatesScreen, "the gate view")

    def action_gradflow(self) -> None:
        from rnn_tui.ui.screens.gradflow import GradFlowScreen

        self._open_on_weights(GradFlowScreen, "gradient flow")

    def action_sample(self) -> None:
        from rnn_tui.ui.screens.sample import SampleScreen

        self._open_on_weights(SampleScreen, "sampling")

    def _open_on_weights(self, screen: type[HostedScreen], what: str) -> None:
        if self.latest_snapshot is None:
            self.notify(f"no weights yet: {what} opens once training has started", severity="warning")
            return
        self.push_screen(screen())


if TYPE_CHECKING:
    _host: type[ScreenHost] = RnnTuiApp  # mypy holds the app to the screens' contract

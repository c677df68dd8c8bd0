"""The playground's side of the training app: runs started, opened, reset, left and browsed from inside it.

The home screen (screens/home.py), the new-run form (screens/new_run.py) and the dashboard's keys ask
for these through the screens' contract (host.py). One run trains at a time: starting another saves
and stops the current one first (a run this app only watches is left training). Each run gets a
fresh dashboard in a Textual mode of its own, so going home leaves it drawing in the background.
A mixin of ``RnnTuiApp``; it expects what is declared below there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the type checker the mixin is the app it is mixed into
    from rnn_tui.core import events as ev
    from rnn_tui.ui.base import RnnTuiBase as _App
    from rnn_tui.ui.screens.train import TrainScreen
else:
    _App = object


def _reset_name(runs_root: Path, old: str) -> str:
    """The name of a reset of ``old``: ``old-reset``, then ``-reset2``, ... (a reset of a reset stays short)."""
    import re

    base = re.sub(r"-reset\d*$", "", old)
    for n in range(1, 1000):
        name = f"{base}-reset{n if n > 1 else ''}"[:100]
        if not (runs_root / name).exists():
            return name
    return f"{base}-reset-{os.getpid()}"[:100]


class PlaygroundFlow(_App):
    bridge: Any
    bridges: list[Any]
    bridge_maker: Callable[[Any, Any], Any] | None
    attach_maker: Callable[[Any, Any], Any] | None
    runs_root: Path | None
    attached: bool
    quitting: bool
    started: ev.Started | None
    finished: ev.Finished | None
    failed: ev.Failed | None
    live_snapshot: ev.Snapshot | None
    browsing: tuple[ev.Snapshot, str] | None
    _browse_texts: dict[str, str | None]
    _gate_sample: tuple[str, str]
    _dashboard: TrainScreen | None
    _dashboard_mode: str
    _home_mode: str
    _runs: int
    _pending_begin: tuple | None
    _intro: str | None  # what the next run's dashboard says once it starts
    _wait_timer: Any
    exiting: threading.Event

    compare: Any

    if TYPE_CHECKING:  # the app's own, used here

        @property
        def train_screen(self) -> TrainScreen: ...

        def status(self, message: str, level: str = "info") -> None: ...

        def _start(self) -> None: ...

    @property
    def runs_folder(self) -> Path:
        return self._runs_root()

    @property
    def live_run_dir(self) -> str | None:
        if self.bridge is not None and not self.bridge.done.is_set() and self.started is not None:
            return self.started.run_dir
        return None

    def new_run_settings(self) -> tuple[str | None, dict]:
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.runs import Run

        if self.started is None:
            return None, {}
        try:
            corpus = Run(Path(self.started.run_dir)).read_config()["corpus"]["path"]
        except (UserError, KeyError, TypeError):
            corpus = None
        return corpus, dict(self.started.config)

    def _runs_root(self) -> Path:
        from rnn_tui.core.paths import runs_dir

        return Path(self.runs_root) if self.runs_root is not None else runs_dir(None)

    def start_training(self, request: Any, ghost: list | None = None) -> None:
        """Train ``request`` (from the form, the home screen or a reset) on a fresh dashboard."""
        if self.bridge_maker is None:
            self.notify("this view cannot start training", severity="warning")
            return
        maker = self.bridge_maker
        self._begin(lambda app: maker(app, request), ghost, attached=False)

    def start_new_run(self, options: dict) -> None:
        """A new run from command-line style options (the home screen's Enter: the demo, defaults)."""
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.orchestrate import RunRequest

        try:
            request = RunRequest.from_options({**options, "runs_dir": str(self._runs_root())})
            request.check()
        except UserError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.start_training(request)

    def resume_run(self, name: str) -> None:
        from rnn_tui.core.orchestrate import RunRequest

        # Opened from home, a run trains on until paused or left: the budget it was started with is lifted.
        budget = {"max_steps": None, "max_time": None, "epochs": None}
        self._intro = f"training {name} on with no step or time limit: space pauses, q saves and stops"
        self.start_training(RunRequest(resume=name, runs_dir=str(self._runs_root()), overrides=budget))

    def attach_run(self, run_dir: str) -> None:
        self._attach_when_ready(run_dir, tries=12)

    def _attach_when_ready(self, run_dir: str, tries: int) -> None:
        from rnn_tui.core.live import live_run

        live = live_run(Path(run_dir))
        if live is not None and live.socket is None and tries > 0:  # just started: its socket comes in a moment
            self.set_timer(0.25, lambda: self._attach_when_ready(run_dir, tries - 1))
            return
        if live is None or live.socket is None or self.attach_maker is None:
            self.notify("that run is not training any more (or serves no viewers)", severity="warning")
            return
        maker = self.attach_maker
        self._begin(lambda app: maker(app, live), None, attached=True)

    def _begin(self, factory: Callable[[Any], Any], ghost: list | None, attached: bool, ask: bool = True) -> None:
        """Start the next run: one this app trains is saved and stopped first (asked, unless ``ask`` is
        False: a reset says what it does); one it only watches goes on training."""
        old = self.bridge
        if old is not None and not old.done.is_set():
            if self.attached:
                old.detach()  # watching someone else's run: leave it training
            else:
                if ask and self.started is not None:
                    from rnn_tui.ui.screens.confirm import ConfirmScreen

                    def chosen(yes: bool | None) -> None:
                        if yes:
                            self._begin(factory, ghost, attached, ask=False)
                        else:
                            self._intro = None  # that run is not starting: its words are not for the next

                    name = self.started.run_name
                    self.push_screen(
                        ConfirmScreen(
                            f"{name} is training. Save and stop it, and start the next run?",
                            f"It stays in the list: Enter on {name} trains it on.",
                        ),
                        chosen,
                    )
                    return
                old.stop("new run")
                self.status("saving the current run before the next one starts\u2026", "warning")
                self._pending_begin = (factory, ghost, attached)
                self._wait_timer = self.set_interval(0.1, self._begin_when_saved)
                return
        self._begin_now(factory, ghost, attached)

    def _begin_when_saved(self) -> None:
        if self.exiting.is_set():  # the app is leaving: nothing new starts (it would train on unseen)
            self._wait_timer.stop()
            self._pending_begin = None
            return
        if self.bridge is not None and not self.bridge.done.is_set():
            return
        self._wait_timer.stop()
        pending, self._pending_begin = self._pending_begin, None
        if pending is not None:
            self._begin_now(*pending)

    def _begin_now(self, factory: Callable[[Any], Any], ghost: list | None, attached: bool) -> None:
        if self.exiting.is_set():
            return
        self._runs += 1
        self.bridge = factory(self)
        self.bridges.append(self.bridge)
        self.attached = attached
        self.started = self.finished = self.failed = None
        self.live_snapshot = None
        self.quitting = False
        from rnn_tui.ui.screens.train import TrainScreen

        screen = TrainScreen()
        screen.ghost = ghost or []
        screen.intro, self._intro = self._intro, None  # said once this run has started (a reset says what it did)
        self._dashboard = screen
        mode, old = f"run-{self._runs}", self._dashboard_mode
        self.add_mode(mode, lambda: screen)
        self._dashboard_mode = mode
        self.switch_mode(mode)
        if old not in ("_default", self._home_mode):
            self.remove_mode(old)
        self.call_after_refresh(self._start)

    def show_dashboard(self) -> None:
        if self._dashboard is not None:
            self.switch_mode(self._dashboard_mode)

    def go_home(self) -> None:
        from rnn_tui.ui.screens.home import HomeScreen

        if self._home_mode == "home" and "home" not in self._modes:
            root = self._runs_root()
            self.add_mode("home", lambda: HomeScreen(root))
        self.switch_mode(self._home_mode)

    def action_go_home(self) -> None:
        self.go_home()

    def reset_run(self) -> None:
        """The same configuration from a fresh initialisation: a new run with a new seed; the old
        curve stays faint on the new chart."""
        import random

        from rnn_tui.core.errors import UserError
        from rnn_tui.core.orchestrate import RunRequest
        from rnn_tui.core.runs import Run

        if self.started is None or self.compare is not None or self.attached:
            self.status("reset restarts a run this app trains (not a comparison or an attached run)", "warning")
            return
        try:
            corpus = Run(Path(self.started.run_dir)).read_config()["corpus"]["path"]
        except (UserError, KeyError, TypeError):
            self.status("reset: the run's corpus is not recorded; start a new run with n", "error")
            return
        from dataclasses import fields

        from rnn_tui.core.config import TrainConfig

        known = {f.name for f in fields(TrainConfig)}
        overrides = {k: v for k, v in self.started.config.items() if k in known and v is not None}
        overrides["seed"] = random.randrange(1, 2**31)
        scale = self.train_screen.lr_scale if self._dashboard is not None else 1.0
        if scale != 1.0 and isinstance(overrides.get("lr"), (int, float)):
            overrides["lr"] = overrides["lr"] * scale  # the rate the user set with + and -, as the run had it
        old = self.started.run_name
        name = _reset_name(self._runs_root(), old)
        try:
            request = RunRequest.from_options(
                {"corpus": corpus, **overrides, "name": name, "runs_dir": str(self._runs_root())}
            )
            request.check()
        except UserError as exc:
            self.status(f"reset: {exc}", "error")
            return
        from rnn_tui.ui.widgets.loss_chart import LossChart

        ghost = list(self.train_screen.query_one(LossChart).train) if self._dashboard is not None else []
        maker = self.bridge_maker
        if maker is not None:
            self._intro = f"reset: {old} saved and kept; now {name}: same settings, new seed (old curve faint)"
            self._begin(lambda app: maker(app, request), ghost, attached=False, ask=False)

    def browse_run(self, run_dir: str, which: str) -> None:
        """Sample, gates or gradient flow on a saved run's weights (read in a worker)."""
        self.run_worker(
            lambda: self._load_browse(run_dir, which),
            thread=True,
            exclusive=True,
            group="browse",
            exit_on_error=False,
            description="loading the run's weights",
        )

    def _load_browse(self, run_dir: str, which: str) -> None:
        from rnn_tui.core.errors import UserError
        from rnn_tui.ui.launch import load_snapshot

        try:
            loaded = load_snapshot(run_dir, str(self._runs_root()))
        except UserError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        self.call_from_thread(self._open_browse, loaded, which)

    def _open_browse(self, loaded: tuple, which: str) -> None:
        from rnn_tui.ui.screens.gates import GatesScreen
        from rnn_tui.ui.screens.gradflow import GradFlowScreen
        from rnn_tui.ui.screens.sample import SampleScreen

        snapshot, run_dir = loaded
        self.browsing = (snapshot, run_dir or "")
        screen = {"gates": GatesScreen, "gradflow": GradFlowScreen, "sample": SampleScreen}[which]()
        screen.browse = True
        self.push_screen(screen)

    @property
    def _browsing_now(self) -> bool:
        return self.browsing is not None and any(getattr(s, "browse", False) for s in self.screen_stack)

    def _browse_text(self, source: str, length: int) -> str | None:
        from rnn_tui.ui.viewer import SAMPLE_FOR_GATES, _sample_for_gates

        assert self.browsing is not None
        snapshot, run_dir = self.browsing
        if source == "validation":
            if run_dir not in self._browse_texts:
                from rnn_tui.core.session import validation_text
                from rnn_tui.ui.screens.gates import MAX_TRACE_CHARS

                self._browse_texts[run_dir] = validation_text(Path(run_dir), MAX_TRACE_CHARS) if run_dir else None
            text = self._browse_texts[run_dir]
            return text[:length] if text else None
        if source == "sample":
            if self._gate_sample[0] != run_dir or len(self._gate_sample[1]) < length:
                self._gate_sample = (run_dir, _sample_for_gates(snapshot, max(length, SAMPLE_FOR_GATES)))
            return self._gate_sample[1][:length]
        return None

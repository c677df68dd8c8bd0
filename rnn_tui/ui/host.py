"""What a screen may ask of the app it runs in: the ``ScreenHost`` contract.

Two apps host the same screens: the training app (``RnnTuiApp``) and the viewer of a saved run
(``ViewerApp``). A screen reaches the project's side of its app only through ``host(self)``, typed by
this Protocol, so one page says everything a screen may ask; Textual's own App API (``notify``,
``push_screen``, ``console``...) stays on ``self.app``. A test holds both apps to the Protocol and
every screen and widget to these names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from rnn_tui.core.commands import (
    Pause,
    RequestSnapshot,
    Resume,
    Save,
    ScaleLearningRate,
    SetSampleTemperature,
    Step,
    Stop,
)

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from rnn_tui.core.compare import CompareRow
    from rnn_tui.core.events import Snapshot

TrainerCommand = Pause | Resume | Save | Stop | RequestSnapshot | SetSampleTemperature | Step | ScaleLearningRate


@runtime_checkable
class ScreenHost(Protocol):
    """The app as the screens see it."""

    @property
    def latest_snapshot(self) -> Snapshot | None:
        """The newest weights (None before training has published any)."""

    @property
    def training_live(self) -> bool:
        """Whether a trainer is running beside the screens (then they leave it the CPU)."""

    @property
    def run_name(self) -> str | None:
        """The run whose weights the screens show."""

    def request_snapshot(self) -> None:
        """Ask for fresher weights; they arrive through ``HostedScreen.snapshot_arrived``."""

    def send_command(self, command: TrainerCommand) -> None:
        """Pass a command to the trainer; a saved run has none and ignores it."""

    def gate_text(self, source: str, length: int) -> str | None:
        """Up to ``length`` characters of ``source`` ("validation" or "sample") to trace, or None."""

    def sample_save_dir(self) -> Path | None:
        """Where saved samples go (the run folder's samples/), or None without a run folder."""

    def compare_rows(self) -> list[CompareRow]:
        """The compared cells so far (empty outside ``--compare``)."""

    def pop_screen_or_exit(self) -> None:
        """Leave the current screen; the viewer exits when it is the last one."""

    # ---- the playground (home screen, new-run form, reset): the viewer of one saved run says it cannot
    @property
    def runs_folder(self) -> Path:
        """Where the runs this app lists and starts live."""

    @property
    def live_run_dir(self) -> str | None:
        """The folder of the run this app trains now, if any."""

    def start_training(self, request: Any, ghost: list | None = None) -> None:
        """Train ``request`` (a core.orchestrate.RunRequest) on a fresh dashboard."""

    def start_new_run(self, options: dict) -> None:
        """A new run from command-line style options ({} trains the demo with the defaults)."""

    def resume_run(self, name: str) -> None:
        """Open a saved run: its dashboard, training on from where it stopped."""

    def attach_run(self, run_dir: str) -> None:
        """Watch a run another process trains."""

    def show_dashboard(self) -> None:
        """Back to the dashboard of the run this app trains."""

    def go_home(self) -> None:
        """The home screen: the saved runs."""

    def browse_run(self, run_dir: str, which: str) -> None:
        """Open "sample", "gates" or "gradflow" on a saved run's weights."""

    def reset_run(self) -> None:
        """The current run's settings from a fresh start and a new seed, as a new run."""

    def new_run_settings(self) -> tuple[str | None, dict]:
        """(corpus path, config) of the current run, to start the new-run form from; (None, {}) without one."""


def host(node: DOMNode) -> ScreenHost:
    """The app of ``node`` as its screens may use it."""
    return cast(ScreenHost, node.app)


class HostedScreen(Screen):
    """A screen of these apps: hears about new weights, and shows a worker that failed."""

    browse = False  # opened from home on a saved run's weights: the training's snapshots are not for it

    def snapshot_arrived(self, snapshot: Snapshot) -> None:
        """New weights were published (the app calls this on every screen in the stack)."""

    def worker_failed(self, worker: Worker) -> None:
        """A worker of this screen raised (after the error is shown): put the screen back in order."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            show_failed_worker(self, event.worker)
            self.worker_failed(event.worker)


def show_failed_worker(node: DOMNode, worker: Worker) -> None:
    """A worker's exception as a notification (never markup: it may quote corpus text)."""
    error = worker.error
    what = worker.description or worker.name or "a background task"
    detail = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    node.app.notify(
        f"{what} failed: {detail}", title="Something went wrong", severity="error", timeout=30, markup=False
    )

"""The dashboard: loss chart, stats, live sample and a status line.

``handle(event)`` turns each trainer event into widget attributes; the app only
routes events here. A resumed run's history is read from its metrics.jsonl in a
thread worker, so the screen never waits on the disk. Its layout is train.tcss.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from rnn_tui.core import events as ev
from rnn_tui.core.commands import Pause, Resume, Save, ScaleLearningRate, SetSampleTemperature, Step
from rnn_tui.core.textutil import home_relative
from rnn_tui.ui.host import HostedScreen, host
from rnn_tui.ui.widgets.key_bar import KeyBar
from rnn_tui.ui.widgets.loss_chart import LossChart
from rnn_tui.ui.widgets.sample_log import SampleLog
from rnn_tui.ui.widgets.stats import StatsPanel
from rnn_tui.ui.widgets.status_line import StatusLine

TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5)


StepLosses = list[tuple[int, float]]  # (step, loss)
TRAIN_CSS = Path(__file__).with_name("train.tcss")


class TrainScreen(HostedScreen):
    # Footer order is importance order; what does not fit is in help and the palette.
    BINDINGS = [
        Binding("space", "pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("full_stop", "step", "Step"),
        Binding("plus,equals_sign", "lr(2.0)", "lr\u00d72"),
        Binding("minus", "lr(0.5)", "lr\u00f72"),
        Binding("h", "home", "Home"),
        Binding("s", "save", "Save"),
        Binding("g", "app.gates", "Gates"),
        Binding("i", "app.sample", "Sample"),
        Binding("f", "app.gradflow", "Grad flow"),
        Binding("c", "app.compare", "Compare", show=False),
        Binding("n", "new_run", "New run", show=False),
        Binding("R", "reset", "Reset", show=False),
        Binding("t", "temperature(1)", "Temp+", show=False),
        Binding("T", "temperature(-1)", "Temp-", show=False),
        Binding("r", "toggle_raw", "Raw curve", show=False),
        Binding("b", "toggle_bits", "Bits/nats", show=False),
    ]
    MIN_SIZE = (60, 15)
    CSS_PATH = TRAIN_CSS

    class SavedFound(Message):
        """The step latest.pt holds, and when it was written (the history worker's second result)."""

        def __init__(self, run_dir: str, step: int, at: float | None) -> None:
            super().__init__()
            self.run_dir, self.step, self.at = run_dir, step, at

    class HistoryLoaded(Message):
        """A resumed run's losses from metrics.jsonl (the history worker's result)."""

        def __init__(
            self,
            run_dir: str,
            start_step: int,
            train: StepLosses,
            val: StepLosses,
            saved_at: float | None,
            problem: str | None = None,
            saved_step: int | None = None,
        ) -> None:
            super().__init__()
            self.run_dir, self.start_step, self.train, self.val = run_dir, start_step, train, val
            self.saved_at, self.problem, self.saved_step = saved_at, problem, saved_step
            self.marks: list[tuple[int, float]] = []  # learning-rate changes (step, factor)

    def __init__(self) -> None:
        super().__init__()
        self.state = "starting"
        self.temperature = 0.8
        self.run_dir: str | None = None
        self.ghost: list[tuple[float, float]] = []  # the curve before a reset, drawn faint
        self.lr_scale = 1.0  # the user's learning-rate factor so far (the trainer confirms each change)
        self.intro: str | None = None  # said when the run starts, after what the trainer says

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield LossChart(id="chart", classes="pane")
            yield StatsPanel(id="stats", classes="pane")
        yield SampleLog(id="sample", classes="pane accent")
        yield Static("terminal too small: enlarge it to at least 60x15", id="too-small")
        yield StatusLine(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#sample").border_title = "sample"
        if self.ghost:
            self.query_one(LossChart).set_ghost(self.ghost)

    def on_resize(self, event: events.Resize) -> None:
        small = event.size.width < self.MIN_SIZE[0] or event.size.height < self.MIN_SIZE[1]
        self.set_class(small, "too-small")

    # ---- events ---------------------------------------------------------------
    def say(self, message: str, level: str = "info") -> None:
        self.query_one(StatusLine).say(message, level)

    def handle(self, event: Any, model_of: str | None = None) -> None:
        """Show one trainer event. ``model_of`` names the compared model ("model 2 of 3: gru")."""
        chart, stats = self.query_one(LossChart), self.query_one(StatsPanel)
        if isinstance(event, ev.Progress):
            chart.add_losses(event.losses)
            stats.progress = event
            stats.train_loss = chart.latest_smoothed
        elif isinstance(event, ev.EvalResult):
            chart.add_val(event.step, event.val_loss)
            stats.last_val, stats.best_val = event.val_loss, event.best_val_loss
            if event.is_best:
                stats.best_step = event.step
            best = " (best)" if event.is_best else ""
            self.say(f"step {event.step:,}: validation loss {stats.loss(event.val_loss)}{best}")
        elif isinstance(event, ev.Sample):
            self.query_one(SampleLog).show(event.step, event.text, event.temperature)
        elif isinstance(event, ev.Saved):
            stats.saved(event.step)
            if event.reason != "best":
                self.say(f"saved {event.kind}.pt at step {event.step:,} ({event.reason})", "ok")
        elif isinstance(event, ev.Notice):
            self.say(event.message, event.level)
        elif isinstance(event, ev.LearningRateChanged):
            chart.mark(event.step, f"x{event.factor:g}")
            self.lr_scale = event.scale
            self.say(
                f"learning rate \u00d7{event.factor:g}: {event.lr:.3g} from step {event.step:,} "
                f"(\u00d7{event.scale:g} of the schedule)",
                "ok",
            )
        elif isinstance(event, ev.StateChanged):
            self._set_state(event.state)
            if event.state in ("paused", "running"):
                self.say("paused: space resumes" if event.state == "paused" else "training resumed")
        elif isinstance(event, ev.Started):
            chart.clear()
            stats.reset()
            stats.started, stats.model_of = event, model_of
            self.run_dir = event.run_dir
            self._set_state("running")
            lead = f"{model_of} \u00b7 " if model_of else ""
            self.say(
                f"{lead}training {event.run_name} on {event.device_name} ({event.precision}); "
                f"run folder {home_relative(event.run_dir)}"
            )
            if event.notes:  # in the status line, not toasts over the sample and status at 80x24
                self.say("; ".join(event.notes), "warning")
            if self.intro:
                self.say(self.intro, "ok")
                self.intro = None
            if event.start_step > 0:
                self._load_history(event.run_dir, event.start_step)
        elif isinstance(event, ev.Finished):
            self._set_state("finished")
            saved = home_relative(event.checkpoint or "-")
            self.say(f"finished at step {event.step:,} ({event.reason}); saved {saved}", "ok")
        elif isinstance(event, ev.Failed):
            self._set_state("failed")
            where = f"; checkpoint {event.checkpoint}" if event.checkpoint else ""
            log = f"; log {event.log_path}" if event.log_path else ""
            self.say(f"training stopped: {event.message}{where}{log}", "error")
        stats.redraw()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.query_one(StatsPanel).state = state
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="history", exit_on_error=False, description="reading the run's history")
    def _load_history(self, run_dir: str, start_step: int) -> None:
        from pathlib import Path

        from rnn_tui.core.runs import Run

        run = Run(Path(run_dir))
        try:
            rows = run.read_metrics()
        except (OSError, ValueError) as exc:
            self.post_message(self.HistoryLoaded(run_dir, start_step, [], [], None, f"{exc}"))
            return
        train: StepLosses = []
        val: StepLosses = []
        marks: StepLosses = []
        for r in rows:  # one pass: 100,000 rows are read while the chart waits
            step = r["step"]  # an int: read_metrics keeps only rows with one
            if step > start_step:  # later rows are this session's, arriving live
                continue
            for key, into in (("train_loss", train), ("val_loss", val), ("lr_change", marks)):
                if key in r and (value := _number(r[key])) is not None:
                    into.append((step, float(value)))
        loaded = self.HistoryLoaded(run_dir, start_step, train, val, None)
        loaded.marks = marks
        self.post_message(loaded)

    @work(thread=True, exclusive=True, group="peek", exit_on_error=False, description="reading the saved step")
    def _peek_saved(self, run_dir: str) -> None:
        """The step latest.pt holds, read from the file: an attached viewer's start is the newest report,
        which the trainer may not have saved yet. Started once the history is drawn: reading it loads
        torch (~1 s the first time), which would hold the interpreter while the chart is drawn."""
        from pathlib import Path

        from rnn_tui.core.checkpoint import peek_checkpoint
        from rnn_tui.core.runs import Run

        latest = Run(Path(run_dir)).checkpoint("latest")
        peeked = peek_checkpoint(latest)
        try:
            saved_at = latest.stat().st_mtime if peeked is not None else None
        except OSError:
            saved_at = None
        if peeked is not None:
            self.post_message(self.SavedFound(run_dir, peeked["step"], saved_at))

    def on_train_screen_saved_found(self, message: SavedFound) -> None:
        stats = self.query_one(StatsPanel)
        if message.run_dir == self.run_dir and stats.saved_step is None:  # a live save since is newer
            stats.saved(message.step, message.at)
            stats.redraw()

    def on_train_screen_history_loaded(self, message: HistoryLoaded) -> None:
        run_dir, start_step, train, val = message.run_dir, message.start_step, message.train, message.val
        if message.problem is not None:
            self.say(f"could not read the run's history ({message.problem})", "warning")
            return
        if run_dir != self.run_dir:
            return  # another run started meanwhile
        chart, stats = self.query_one(LossChart), self.query_one(StatsPanel)
        chart.add_history(train, val)
        for step, factor in message.marks:
            chart.mark(step, f"x{factor:g}")
        stats.train_loss = chart.latest_smoothed
        if val:
            best_step, best = min(val, key=lambda p: p[1])
            if stats.last_val is None:
                stats.last_val = val[-1][1]
            if stats.best_val is None:
                stats.best_val, stats.best_step = best, best_step
            elif stats.best_step is None and abs(stats.best_val - best) < 1e-9:
                stats.best_step = best_step
        if stats.saved_step is None and message.saved_step is not None:
            stats.saved(message.saved_step, message.saved_at)
        stats.redraw()
        self.call_after_refresh(self._peek_saved, run_dir)
        self.say(
            f"history to step {start_step:,}: {_count(len(train), 'loss', 'losses')} and "
            f"{_count(len(val), 'validation', 'validations')} from metrics.jsonl"
        )

    # ---- keys -----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return self.state == "running"
        if action == "resume":
            return self.state == "paused"
        if action == "save":
            return self.state in ("running", "paused")
        if action == "step":
            return self.state == "paused"
        if action == "lr":
            return self.state in ("running", "paused")
        return True

    def action_toggle_pause(self) -> None:
        if self.state == "paused":
            self.action_resume()
        elif self.state == "running":
            self.action_pause()
        else:
            self.say(f"training has {self.state}: nothing to pause")

    def action_pause(self) -> None:
        host(self).send_command(Pause())
        self.say("pausing at the next step\u2026")

    def action_resume(self) -> None:
        host(self).send_command(Resume())

    def action_home(self) -> None:
        host(self).go_home()

    def action_step(self) -> None:
        """One training step while paused: the loss, the sample and an open gate view follow it."""
        if self.state != "paused":
            self.say("step works while paused: space pauses first")
            return
        host(self).send_command(Step(1))
        self.say("one step\u2026")

    def action_lr(self, factor: float) -> None:
        host(self).send_command(ScaleLearningRate(factor))
        self.say(f"learning rate \u00d7{factor:g} from the next step\u2026")

    def action_new_run(self) -> None:
        from rnn_tui.ui.screens.new_run import NewRunScreen

        corpus, values = host(self).new_run_settings()
        self.app.push_screen(NewRunScreen(host(self).runs_folder, corpus=corpus, values=values))

    def action_reset(self) -> None:
        host(self).reset_run()

    def action_save(self) -> None:
        host(self).send_command(Save())
        self.say("saving latest.pt at the next step\u2026")

    def action_temperature(self, direction: int) -> None:
        index = min(range(len(TEMPERATURES)), key=lambda i: abs(TEMPERATURES[i] - self.temperature))
        index = max(0, min(len(TEMPERATURES) - 1, index + direction))
        self.temperature = TEMPERATURES[index]
        host(self).send_command(SetSampleTemperature(self.temperature))
        self.say(f"live-sample temperature {self.temperature:g} (from the next sample)")

    def action_toggle_raw(self) -> None:
        chart = self.query_one(LossChart)
        chart.show_raw = not chart.show_raw
        shown = "raw curve shown (faint grey under the smoothed line)"
        self.say(shown if chart.show_raw else "raw curve hidden: smoothed line only")

    def action_toggle_bits(self) -> None:
        chart, stats = self.query_one(LossChart), self.query_one(StatsPanel)
        chart.bits = stats.bits = not chart.bits
        stats.redraw()
        self.say("losses in bits per character (nats / ln 2)" if chart.bits else "losses in nats per character")


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _number(value: object) -> float | None:
    """A finite number from a metrics row, or None (a damaged row is skipped, not fatal)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None

"""The dashboard: loss chart, stats, live sample and a status line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from rnn_tui.ui.widgets.loss_chart import LossChart
from rnn_tui.ui.widgets.sample_log import SampleLog
from rnn_tui.ui.widgets.stats import StatsPanel
from rnn_tui.ui.widgets.status_line import StatusLine

TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5)


class TrainScreen(Screen):
    BINDINGS = [
        Binding("space", "pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("s", "save", "Save"),
        Binding("g", "app.gates", "Gates"),
        Binding("i", "app.sample", "Sample"),
        Binding("f", "app.gradflow", "Grad flow"),
        Binding("c", "app.compare", "Compare", show=False),
        Binding("t", "temperature(1)", "Temp+"),
        Binding("T", "temperature(-1)", "Temp-", show=False),
        Binding("r", "toggle_raw", "Raw curve", show=False),
        Binding("b", "toggle_bits", "Bits/nats", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.temperature = 0.8

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield LossChart(id="chart")
            yield StatsPanel(id="stats")
        yield SampleLog(id="sample")
        yield Static("terminal too small: enlarge it to at least 60x15", id="too-small")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sample").border_title = "sample"

    MIN_SIZE = (60, 15)

    def on_resize(self, event) -> None:
        small = event.size.width < self.MIN_SIZE[0] or event.size.height < self.MIN_SIZE[1]
        self.set_class(small, "too-small")

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.refresh_bindings()

    def action_toggle_pause(self) -> None:
        if self.paused:
            self.action_resume()
        else:
            self.action_pause()

    def action_pause(self) -> None:
        self.app.pause_training()

    def action_resume(self) -> None:
        self.app.resume_training()

    def action_save(self) -> None:
        self.app.save_training()

    def action_temperature(self, direction: int) -> None:
        index = min(range(len(TEMPERATURES)), key=lambda i: abs(TEMPERATURES[i] - self.temperature))
        index = max(0, min(len(TEMPERATURES) - 1, index + direction))
        self.temperature = TEMPERATURES[index]
        self.app.set_sample_temperature(self.temperature)
        self.query_one(StatusLine).say(f"live-sample temperature {self.temperature:g} (from the next sample)")

    def action_toggle_raw(self) -> None:
        chart = self.query_one(LossChart)
        chart.show_raw = not chart.show_raw

    def action_toggle_bits(self) -> None:
        chart = self.query_one(LossChart)
        chart.bits = not chart.bits

"""Gradient flow through time: ||dL_T/dh_t|| against distance, now and at initialisation.

A vanilla RNN's curve falls off a cliff (the gradient vanishes through the
repeated tanh Jacobian); an LSTM's or GRU's stays up far longer because the
cell/state update is additive. Computed in a worker from the weights snapshot.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from rnn_tui.ui.widgets.key_bar import KeyBar
from rnn_tui.ui.widgets.plot import Series, render_plot

LAYER_STYLES = ("bold cyan", "bold magenta", "bold green", "bold yellow")
EXPLAIN = ("||dL_T/dh_t||: how much the loss at the last character still depends on the hidden state T-t steps "
           "earlier (log scale). Bright: now; grey: at initialisation. Gates keep it from vanishing.")


class GradFlowPlot(Static):
    DEFAULT_CSS = "GradFlowPlot { height: 1fr; border: round $primary; }"

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.flow = None
        self.border_title = "||dL_T/dh_t|| against distance T-t, log scale"

    def render(self):
        if self.flow is None:
            return Text("measuring\u2026", style="dim")
        series = []
        for row in self.flow.initial or ():
            series.append(Series(_log_points(row), "grey42"))
        for k, row in enumerate(self.flow.layers):
            series.append(Series(_log_points(row), LAYER_STYLES[k % len(LAYER_STYLES)]))
        text = render_plot(series, self.content_size.width, self.content_size.height - 1, x_label="distance T-t",
                           log_y=True, x_range=(0, len(self.flow.distance) - 1))
        text.append("\n")
        for k in range(len(self.flow.layers)):
            text.append(f"\u2500\u2500 layer {k + 1}  ", style=LAYER_STYLES[k % len(LAYER_STYLES)])
        if self.flow.initial:
            text.append("\u2500\u2500 at initialisation", style="grey42")
        return text


def _log_points(row):
    return tuple((d, math.log10(v)) for d, v in enumerate(row) if v > 0)


class GradFlowScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back"), Binding("r", "remeasure", "Remeasure")]
    DEFAULT_CSS = """
    GradFlowScreen #gf-head { height: auto; background: $boost; padding: 0 1; }
    GradFlowScreen #gf-table { height: auto; padding: 0 1; }
    """
    LENGTH = 100

    def __init__(self, flow=None, step: int = 0) -> None:
        """``flow`` shows a measured flow as it is (a test, or a flow measured elsewhere)."""
        super().__init__()
        self.given = flow, step

    def compose(self) -> ComposeResult:
        yield Static("", id="gf-head")
        yield GradFlowPlot(id="gf-plot")
        yield Static(Text(EXPLAIN, style="dim"), id="gf-table")
        yield KeyBar()

    def on_mount(self) -> None:
        flow, step = self.given
        if flow is not None:
            self._show(flow, summary(flow, step))
        else:
            self.action_remeasure()

    def action_back(self) -> None:
        self.app.pop_screen_or_exit()

    def action_remeasure(self) -> None:
        snapshot = self.app.latest_snapshot
        text = self.app.gate_text("validation", self.LENGTH + 1) or self.app.gate_text("sample", self.LENGTH + 1)
        if snapshot is None or not text or len(text) < 3:
            self.query_one("#gf-head", Static).update(Text("no text to measure on yet", style="bold yellow"))
            return
        self.query_one("#gf-head", Static).update(Text(f"measuring on {len(text) - 1} characters\u2026"))
        self._measure(snapshot, text)

    @work(thread=True, exclusive=True, group="gradflow", exit_on_error=False)
    def _measure(self, snapshot, text: str) -> None:
        import torch

        from rnn_tui.core.gradflow import gradient_flow_for
        from rnn_tui.core.priority import lower_thread_priority

        lower_thread_priority()  # training keeps the CPU; this fills the gaps
        index = {ch: i for i, ch in enumerate(snapshot.vocab)}
        ids = torch.tensor([index[ch] for ch in text if ch in index])
        flow = gradient_flow_for(snapshot.config, snapshot.vocab, snapshot.weights, ids)
        self.app.call_from_thread(self._show, flow, summary(flow, snapshot.step))

    def _show(self, flow, summary: str) -> None:
        plot = self.query_one(GradFlowPlot)
        plot.flow = flow
        plot.refresh()
        self.query_one("#gf-head", Static).update(Text(summary))


def summary(flow, step: int) -> str:
    from rnn_tui.core.gradflow import decay

    far = min(50, len(flow.distance) - 1)
    at_init = f" (at init {_initial_decay(flow, far):.1e})" if flow.initial else ""
    return (f"{flow.cell.upper()} at step {step:,}: layer 1 keeps {decay(flow, far):.1e} of its gradient "
            f"at distance {far}{at_init}")


def _initial_decay(flow, distance: int) -> float:
    first = flow.at(0, 0, initial=True)
    return flow.at(distance, 0, initial=True) / first if first > 0 else 0.0

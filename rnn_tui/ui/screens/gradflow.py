"""Gradient flow through time: ||dL_T/dh_t|| against distance, now and at initialisation.

A vanilla RNN's curve falls off a cliff (the gradient vanishes through the
repeated tanh Jacobian); an LSTM's or GRU's stays up far longer because the
cell/state update is additive. Computed in a worker from the weights snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from rnn_tui.ui.host import HostedScreen, host
from rnn_tui.ui.widgets.gradflow_plot import GradFlowPlot
from rnn_tui.ui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from rnn_tui.core.events import Snapshot
    from rnn_tui.core.gradflow import GradFlow

EXPLAIN = (
    "||dL_T/dh_t||: how much the loss at the last character still depends on the hidden state T-t steps "
    "earlier (log scale). Bright: now; grey: at initialisation. Gates keep it from vanishing."
)


class FlowSummary(Static):
    """The figures on one line where they fit; else each part starts a line, so no break falls inside one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.parts: tuple[str, ...] = ()
        self.style = ""

    def show(self, *parts: str, style: str = "") -> None:
        self.parts, self.style = parts, style
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        line = " ".join(self.parts)
        width = self.content_size.width
        self.update(Text(line if not width or cell_len(line) <= width else "\n".join(self.parts), style=self.style))


class GradFlowScreen(HostedScreen):
    BINDINGS = [Binding("escape", "back", "Back"), Binding("r", "remeasure", "Remeasure")]
    DEFAULT_CSS = """
    GradFlowScreen #gf-head { height: auto; background: $boost; padding: 0 1; }
    GradFlowScreen #gf-table { height: auto; padding: 0 1; }
    """
    LENGTH = 100

    class Measured(Message):
        """The measuring worker's result."""

        def __init__(self, flow: GradFlow, summary: tuple[str, ...]) -> None:
            super().__init__()
            self.flow, self.summary = flow, summary

    def __init__(self, flow: GradFlow | None = None, step: int = 0) -> None:
        """``flow`` shows a measured flow as it is (a test, or a flow measured elsewhere)."""
        super().__init__()
        self.given = flow, step

    def compose(self) -> ComposeResult:
        yield FlowSummary(id="gf-head")
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
        host(self).pop_screen_or_exit()

    def action_remeasure(self) -> None:
        app = host(self)
        snapshot = app.latest_snapshot
        text = app.gate_text("validation", self.LENGTH + 1) or app.gate_text("sample", self.LENGTH + 1)
        if snapshot is None or not text or len(text) < 3:
            self.query_one(FlowSummary).show("no text to measure on yet", style="bold yellow")
            return
        self.query_one(FlowSummary).show(f"measuring on {len(text) - 1} characters\u2026")
        self._measure(snapshot, text)

    @work(thread=True, exclusive=True, group="gradflow", exit_on_error=False, description="measuring the gradient flow")
    def _measure(self, snapshot: Snapshot, text: str) -> None:
        import torch

        from rnn_tui.core.gradflow import gradient_flow_for

        # Always asked for by a key and awaited: at the screen's priority, not below the training's.
        index = {ch: i for i, ch in enumerate(snapshot.vocab)}
        ids = torch.tensor([index[ch] for ch in text if ch in index])
        flow = gradient_flow_for(snapshot.config, snapshot.vocab, snapshot.weights, ids)
        self.post_message(self.Measured(flow, summary(flow, snapshot.step)))

    def on_grad_flow_screen_measured(self, message: Measured) -> None:
        self._show(message.flow, message.summary)

    def _show(self, flow: GradFlow, summary: tuple[str, ...]) -> None:
        self.query_one(GradFlowPlot).show(flow)
        self.query_one(FlowSummary).show(*summary)


def summary(flow: GradFlow, step: int) -> tuple[str, ...]:
    """The head's parts: what layer 1 keeps at T-t = 50, then the same at initialisation."""
    from rnn_tui.core.gradflow import decay

    far = min(50, len(flow.distance) - 1)
    now = f"{flow.cell.upper()} at step {step:,}: layer 1 keeps {decay(flow, far):.1e} of its gradient at T-t = {far}"
    return (now, f"(at init {_initial_decay(flow, far):.1e})") if flow.initial else (now,)


def _initial_decay(flow: GradFlow, distance: int) -> float:
    first = flow.at(0, 0, initial=True)
    return flow.at(distance, 0, initial=True) / first if first > 0 else 0.0

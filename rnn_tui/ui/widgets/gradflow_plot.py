"""||dL_T/dh_t|| against distance on a log scale: one bright line per layer now, grey at initialisation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from rnn_tui.ui.widgets.plot import Series, render_plot

if TYPE_CHECKING:
    from rnn_tui.core.gradflow import GradFlow

LAYER_STYLES = ("bold cyan", "bold magenta", "bold green", "bold yellow")
INITIAL_STYLE = "grey42"


class GradFlowPlot(Static):
    DEFAULT_CSS = "GradFlowPlot { height: 1fr; }"
    DEFAULT_CLASSES = "pane"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.flow: GradFlow | None = None
        self.border_title = "||dL_T/dh_t|| against distance T-t, log scale"

    def show(self, flow: GradFlow) -> None:
        self.flow = flow
        self.refresh()

    def render(self) -> Text:
        if self.flow is None:
            return Text("measuring\u2026", style="dim")
        series = [Series(_log_points(row), INITIAL_STYLE) for row in self.flow.initial or ()]
        for k, row in enumerate(self.flow.layers):
            series.append(Series(_log_points(row), _layer_style(k)))
        text = render_plot(
            series,
            self.content_size.width,
            self.content_size.height - 1,
            x_label="distance T-t",
            log_y=True,
            x_range=(0, len(self.flow.distance) - 1),
        )
        text.append("\n")
        for k in range(len(self.flow.layers)):
            text.append(f"\u2500\u2500 layer {k + 1}  ", style=_layer_style(k))
        if self.flow.initial:
            text.append("\u2500\u2500 at initialisation", style=INITIAL_STYLE)
        return text


def _layer_style(layer: int) -> str:
    return LAYER_STYLES[layer % len(LAYER_STYLES)]


def _log_points(row: Sequence[float]) -> tuple[tuple[float, float], ...]:
    return tuple((d, math.log10(v)) for d, v in enumerate(row) if v > 0)

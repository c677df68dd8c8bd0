"""The live loss chart: smoothed train loss, the raw curve faint, validation points."""

from __future__ import annotations

import math

from textual.reactive import reactive
from textual.widget import Widget

from rnn_tui.ui.widgets.plot import Series, render_plot

MAX_POINTS = 4096  # older history is averaged in pairs beyond this
NATS_TO_BITS = 1 / math.log(2)


class LossChart(Widget):
    """Train and validation loss against steps. ``r`` toggles the raw curve, ``b`` bits/nats."""

    DEFAULT_CSS = """
    LossChart { width: 1fr; height: 1fr; min-height: 6; }
    """
    show_raw: reactive[bool] = reactive(True)
    bits: reactive[bool] = reactive(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.train: list[tuple[float, float]] = []
        self.smooth: list[tuple[float, float]] = []
        self.val: list[tuple[float, float]] = []
        self._ema = 0.0
        self._ema_weight = 0.0

    def clear(self) -> None:
        self.train, self.smooth, self.val = [], [], []
        self._ema = self._ema_weight = 0.0
        self.refresh()

    def add_losses(self, losses) -> None:
        for step, loss in losses:
            if not math.isfinite(loss):
                continue
            # debiased EMA: no lag from a zero start
            self._ema = 0.9 * self._ema + 0.1 * loss
            self._ema_weight = 0.9 * self._ema_weight + 0.1
            self.train.append((step, loss))
            self.smooth.append((step, self._ema / self._ema_weight))
        if len(self.train) > MAX_POINTS:
            self.train = _halve(self.train)
            self.smooth = _halve(self.smooth)
        if losses:
            self.refresh()

    def add_val(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self.val.append((step, loss))
            self.refresh()

    def render(self):
        k = NATS_TO_BITS if self.bits else 1.0
        scale = lambda pts: tuple((s, v * k) for s, v in pts)  # noqa: E731
        series = []
        if self.show_raw:
            series.append(Series(scale(self.train), "grey42"))
        series.append(Series(scale(self.smooth), "bold cyan"))
        series.append(Series(scale(self.val), "bold yellow", marker="\u25cf"))
        return render_plot(series, self.size.width, self.size.height, x_label="step")

    def on_mount(self) -> None:
        self._title()

    def _title(self) -> None:
        unit = "bits/char" if self.bits else "nats/char"
        self.border_title = f"loss, {unit}: \u2500 train  \u25cf val"

    def watch_show_raw(self) -> None:
        self.refresh()

    def watch_bits(self) -> None:
        self._title()
        self.refresh()


def _halve(points):
    return [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(points[::2], points[1::2])]

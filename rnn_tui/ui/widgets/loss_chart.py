"""The live loss chart: smoothed train loss, the raw curve faint, validation points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from rnn_tui.core.units import NATS_TO_BITS
from rnn_tui.ui.widgets.plot import Series, render_plot

Points = Sequence[tuple[float, float]]
MAX_POINTS = 4096  # older history is averaged in pairs beyond this
WINDOW_FRACTION = 0.02  # the smoothing window: this share of the steps shown, under one column of the chart


def windowed_mean(points: Points, window: float) -> list[tuple[float, float]]:
    """Each point replaced by the mean of the points in the ``window`` steps up to it.

    A trailing mean over a window that grows with the history lags by half a window,
    less than a column of the chart, where an exponential average of a falling loss
    lags by its whole time constant. The first points stand for themselves.
    """
    out, total, start = [], 0.0, 0
    for end, (step, value) in enumerate(points):
        total += value
        while points[start][0] <= step - window:
            total -= points[start][1]
            start += 1
        out.append((step, total / (end - start + 1)))
    return out


def smoothed(points: Points) -> list[tuple[float, float]]:
    """A loss curve as every chart draws it: the mean over the last WINDOW_FRACTION of the steps shown."""
    span = points[-1][0] - points[0][0] if points else 0
    return windowed_mean(points, max(1.0, span * WINDOW_FRACTION))


class LossChart(Widget):
    """Train and validation loss against steps. ``r`` toggles the raw curve, ``b`` bits/nats."""

    DEFAULT_CSS = """
    LossChart { width: 1fr; height: 1fr; min-height: 6; }
    """
    show_raw: reactive[bool] = reactive(True)
    bits: reactive[bool] = reactive(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.train: list[tuple[float, float]] = []
        self.val: list[tuple[float, float]] = []
        self._smooth: list[tuple[float, float]] | None = None
        self.ghost: list[tuple[float, float]] = []  # a reset run's curve, faint, to compare against
        self.marks: list[tuple[float, str]] = []  # (step, label): learning-rate changes

    @property
    def unit(self) -> str:
        return "bits" if self.bits else "nats"

    @property
    def scale(self) -> float:
        return NATS_TO_BITS if self.bits else 1.0

    @property
    def smooth(self) -> list[tuple[float, float]]:
        if self._smooth is None:
            self._smooth = smoothed(self.train)
        return self._smooth

    @property
    def latest_smoothed(self) -> float | None:
        return self.smooth[-1][1] if self.train else None

    def clear(self) -> None:
        self.train, self.val, self._smooth, self.marks = [], [], None, []
        self.refresh()

    def mark(self, step: float, label: str) -> None:
        """A learning-rate change: a marker on the curve at ``step``."""
        self.marks.append((step, label))
        self._title()
        self.refresh()

    def add_history(self, train: Points, val: Points) -> None:
        """Points logged before this session (a resumed run), placed ahead of the live ones."""
        first = self.train[0][0] if self.train else math.inf
        older = [(s, v) for s, v in train if s < first and math.isfinite(v)]
        self.train = older + self.train
        first_val = self.val[0][0] if self.val else math.inf
        self.val = [(s, v) for s, v in val if s < first_val and math.isfinite(v)] + self.val
        self._compact()
        self.refresh()

    def add_losses(self, losses: Points) -> None:
        self.train.extend((step, loss) for step, loss in losses if math.isfinite(loss))
        self._compact()
        if losses:
            self.refresh()

    def _compact(self) -> None:
        while len(self.train) > MAX_POINTS:
            self.train = _halve(self.train)
        self._smooth = None

    def add_val(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self.val.append((step, loss))
            self.refresh()

    def render(self) -> Text:
        k = self.scale

        def scale(points: Points) -> tuple[tuple[float, float], ...]:
            return tuple(points) if k == 1.0 else tuple((s, v * k) for s, v in points)

        series = []
        if self.show_raw:
            series.append(Series(scale(self.train), "grey42"))
        if self.ghost:
            series.append(Series(scale(self.ghost), "grey35"))
        series.append(Series(scale(self.smooth), "bold cyan"))
        series.append(Series(scale(self.val), "bold yellow", marker="\u25cf"))
        if self.marks and self.train:
            series.append(
                Series(scale([(s, _value_at(self.smooth, s)) for s, _ in self.marks]), "bold magenta", marker="\u25c6")
            )
        return render_plot(series, self.content_size.width, self.content_size.height, x_label="step")

    def on_mount(self) -> None:
        self._title()

    def set_ghost(self, points: Points) -> None:
        self.ghost = smoothed(list(points)) if points else []
        self._title()
        self.refresh()

    def _title(self) -> None:
        if self.ghost or self.marks:  # short, so it fits the chart's frame at 80 columns
            extra = (" \u2500 old" if self.ghost else "") + (" \u25c6 lr" if self.marks else "")
            self.border_title = f"loss, {self.unit}: \u2500 train \u25cf val{extra}"
        else:
            self.border_title = f"loss, {self.unit}/char: \u2500 train  \u25cf val"

    def watch_show_raw(self) -> None:
        self.refresh()

    def watch_bits(self) -> None:
        self._title()
        self.refresh()


def _value_at(points: Points, step: float) -> float:
    """The curve's value at ``step`` (the nearest point at or before it)."""
    before = [v for s, v in points if s <= step]
    return before[-1] if before else points[0][1]


def _halve(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Pairs averaged; an odd last point is kept as it is."""
    out = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(points[::2], points[1::2])]
    return out + points[len(points) - len(points) % 2 :]

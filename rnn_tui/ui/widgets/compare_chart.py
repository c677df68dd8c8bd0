"""Compared cells' loss curves overlaid: one colour and one validation marker per cell.

Markers are drawn over every line, and the legend carries each cell's latest loss, so a
curve hidden under another is still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from rnn_tui.ui.widgets.loss_chart import smoothed
from rnn_tui.ui.widgets.plot import Series, render_plot

if TYPE_CHECKING:
    from rnn_tui.core.compare import CompareRow

CELL_STYLES = {"rnn": "bold red", "lstm": "bold cyan", "gru": "bold green"}
CELL_MARKERS = {"rnn": "\u25cf", "lstm": "\u25a0", "gru": "\u25b2"}  # filled circle, square, triangle


def cell_style(cell: str) -> str:
    return CELL_STYLES.get(cell, "bold")


def cell_marker(cell: str) -> str:
    return CELL_MARKERS.get(cell, "+")


class CompareChart(Static):
    DEFAULT_CSS = "CompareChart { height: 1fr; }"
    DEFAULT_CLASSES = "pane"

    RUN_STYLES = ("bold cyan", "bold yellow", "bold green", "bold magenta", "bold red", "bold blue", "bold white")

    def __init__(self, rows: Sequence[CompareRow], by_run: bool = False, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.rows = rows  # the collector's own list: rows added while this is shown appear on refresh
        self.by_run = by_run  # saved runs compared: one colour and label per run (two may share a cell)
        self.border_title = "train loss, nats/char"

    @classmethod
    def run_style(cls, index: int) -> str:
        return cls.RUN_STYLES[index % len(cls.RUN_STYLES)]

    def _style(self, index: int, row: CompareRow) -> str:
        return self.run_style(index) if self.by_run else cell_style(row.cell)

    def _label(self, row: CompareRow) -> str:
        return row.run_name if self.by_run else row.cell

    def legend(self) -> list[Text]:
        """Entries (line, marker, latest smoothed loss) then the key to the markers, on as few lines as fit."""
        entries = []
        for index, row in enumerate(self.rows):
            style = self._style(index, row)
            smooth = smoothed(row.curve)
            entry = Text("\u2500\u2500 ", style=style)
            entry.append(f"{self._label(row)} {cell_marker(row.cell)}", style=style)
            if smooth:
                entry.append(f" {smooth[-1][1]:.3f}")
            entries.append(entry)
        entries.append(Text("(latest train loss; markers: validation)", style="dim"))
        lines, line = [], Text()
        for entry in entries:
            if line.cell_len and line.cell_len + 2 + entry.cell_len > self.content_size.width:
                lines.append(line)
                line = Text()
            if line.cell_len:
                line.append("  ")
            line.append_text(entry)
        return [*lines, line]

    def render(self) -> Text:
        series = []
        for index, row in enumerate(self.rows):
            style = self._style(index, row)
            series.append(Series(tuple(smoothed(row.curve)), style))
            series.append(Series(tuple(row.val_curve), style, marker=cell_marker(row.cell)))
        legend = self.legend()
        text = render_plot(series, self.content_size.width, self.content_size.height - len(legend), x_label="step")
        for line in legend:
            text.append("\n")
            text.append_text(line)
        return text

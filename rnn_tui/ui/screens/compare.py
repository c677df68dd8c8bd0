"""Compared cells side by side: overlaid loss curves and a table.

Each cell has its own colour and its own validation marker, markers are drawn
over every line, and the legend carries each cell's latest loss, so a curve
hidden under another is still read.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from rnn_tui.ui.widgets.key_bar import KeyBar
from rnn_tui.ui.widgets.loss_chart import WINDOW_FRACTION, windowed_mean
from rnn_tui.ui.widgets.plot import Series, render_plot

CELL_STYLES = {"rnn": "bold red", "lstm": "bold cyan", "gru": "bold green"}
CELL_MARKERS = {"rnn": "\u25cf", "lstm": "\u25a0", "gru": "\u25b2"}  # filled circle, square, triangle
GRAD_CAPTION = ("grad @50: gradient norm 50 steps back relative to step 0 (layer 1) \u2014 "
                "higher means the cell remembers further")


class CompareChart(Static):
    DEFAULT_CSS = "CompareChart { height: 1fr; border: round $primary; }"

    def __init__(self, rows, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.rows = rows
        self.border_title = "train loss, nats/char"

    def legend(self) -> list[Text]:
        """Entries (line, marker, latest smoothed loss) then the key to the markers, on as few lines as fit."""
        entries = []
        for row in self.rows:
            style = CELL_STYLES.get(row.cell, "bold")
            smooth = _smooth(row.curve)
            entry = Text("\u2500\u2500 ", style=style)
            entry.append(f"{row.cell} {CELL_MARKERS.get(row.cell, '+')}", style=style)
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

    def render(self):
        series = []
        for row in self.rows:
            style = CELL_STYLES.get(row.cell, "bold")
            series.append(Series(tuple(_smooth(row.curve)), style))
            series.append(Series(tuple(row.val_curve), style, marker=CELL_MARKERS.get(row.cell, "+")))
        legend = self.legend()
        text = render_plot(series, self.content_size.width, self.content_size.height - len(legend), x_label="step")
        for line in legend:
            text.append("\n")
            text.append_text(line)
        return text


def _smooth(curve):
    span = curve[-1][0] - curve[0][0] if curve else 0
    return windowed_mean(curve, max(1.0, span * WINDOW_FRACTION))


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back")]
    DEFAULT_CSS = """
    CompareScreen #cmp-table { height: auto; padding: 0 1; }
    CompareScreen #cmp-caption { height: auto; padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield CompareChart(self.app.compare.rows, id="cmp-chart")
        yield Static(self.table(), id="cmp-table")
        yield Static(Text(GRAD_CAPTION), id="cmp-caption")
        yield KeyBar()

    def on_mount(self) -> None:
        if self.app.training_live:  # the running model's curve grows while this screen is open
            self.set_interval(1.0, self.refresh_view)

    def table(self) -> Text:
        from rnn_tui.core.compare import table_lines

        lines = table_lines(self.app.compare.rows)
        text = Text(lines[0], style="bold")
        for row, line in zip(self.app.compare.rows, lines[1:]):
            text.append("\n")
            text.append(line[:len(row.cell)], style=CELL_STYLES.get(row.cell, "bold"))
            text.append(line[len(row.cell):])
        return text

    def refresh_view(self) -> None:
        self.query_one(CompareChart).refresh()
        self.query_one("#cmp-table", Static).update(self.table())

    def action_back(self) -> None:
        self.app.pop_screen()

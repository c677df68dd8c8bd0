"""Compared cells side by side: overlaid loss curves and a table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from rnn_tui.ui.widgets.plot import Series, render_plot

CELL_STYLES = {"rnn": "bold red", "lstm": "bold cyan", "gru": "bold green"}


class CompareChart(Static):
    DEFAULT_CSS = "CompareChart { height: 1fr; border: round $primary; }"

    def __init__(self, rows, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.rows = rows

    def render(self):
        series = []
        for row in self.rows:
            style = CELL_STYLES.get(row.cell, "bold")
            series.append(Series(tuple(_smooth(row.curve)), style))
            series.append(Series(tuple(row.val_curve), style, marker="\u25cf"))
        text = render_plot(series, self.size.width, self.size.height - 1, x_label="step")
        text.append("\n")
        for row in self.rows:
            text.append(f"  \u2500\u2500 {row.cell}", style=CELL_STYLES.get(row.cell, "bold"))
        text.append("  (\u25cf validation; loss in nats/char)", style="dim")
        return text


def _smooth(curve, factor: float = 0.9):
    ema = weight = 0.0
    for step, loss in curve:
        ema = factor * ema + (1 - factor) * loss
        weight = factor * weight + (1 - factor)
        yield step, ema / weight


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back")]
    DEFAULT_CSS = "CompareScreen #cmp-table { height: auto; padding: 0 1; }"

    def compose(self) -> ComposeResult:
        yield CompareChart(self.app.compare.rows, id="cmp-chart")
        yield Static(self.table(), id="cmp-table")
        yield Footer()

    def table(self) -> Text:
        from rnn_tui.core.compare import table_lines

        return Text("\n".join(table_lines(self.app.compare.rows)))

    def refresh_view(self) -> None:
        self.query_one(CompareChart).refresh()
        self.query_one("#cmp-table", Static).update(self.table())

    def action_back(self) -> None:
        self.app.pop_screen()

"""Compared cells side by side: overlaid loss curves (CompareChart) and a table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from rnn_tui.ui.host import HostedScreen, host
from rnn_tui.ui.widgets.compare_chart import CompareChart, cell_style
from rnn_tui.ui.widgets.key_bar import KeyBar

GRAD_CAPTION = (
    "grad @50: gradient norm 50 steps back relative to step 0 (layer 1) \u2014 higher means the cell remembers further"
)


class CompareScreen(HostedScreen):
    BINDINGS = [Binding("escape", "back", "Back")]
    DEFAULT_CSS = """
    CompareScreen #cmp-table { height: auto; padding: 0 1; }
    CompareScreen #cmp-caption { height: auto; padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield CompareChart(host(self).compare_rows(), id="cmp-chart")
        yield Static(self.table(), id="cmp-table")
        yield Static(Text(GRAD_CAPTION), id="cmp-caption")
        yield KeyBar()

    def on_mount(self) -> None:
        if host(self).training_live:  # the running model's curve grows while this screen is open
            self.set_interval(1.0, self.refresh_view)

    def table(self) -> Text:
        from rnn_tui.core.compare import table_lines

        rows = host(self).compare_rows()
        lines = table_lines(rows)
        text = Text(lines[0], style="bold")
        for row, line in zip(rows, lines[1:]):
            text.append("\n")
            text.append(line[: len(row.cell)], style=cell_style(row.cell))
            text.append(line[len(row.cell) :])
        return text

    def refresh_view(self) -> None:
        self.query_one(CompareChart).refresh()
        self.query_one("#cmp-table", Static).update(self.table())

    def action_back(self) -> None:
        host(self).pop_screen_or_exit()

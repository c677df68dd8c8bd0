"""Saved runs side by side: overlaid loss curves and a table (marked on the home screen)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from rnn_tui.ui.host import HostedScreen
from rnn_tui.ui.widgets.compare_chart import CompareChart
from rnn_tui.ui.widgets.key_bar import KeyBar


def rows_for(paths: list[Path]) -> list:
    """CompareRow per saved run, from its config.json and metrics.jsonl."""
    from rnn_tui.core.compare import CompareRow, parameter_count
    from rnn_tui.core.runs import Run

    rows = []
    for path in paths:
        run = Run(path)
        try:
            config = run.read_config()
            metrics = run.read_metrics()
        except Exception:  # noqa: BLE001 - a damaged run is left out, not fatal
            continue
        train = config.get("train", {})
        vocab = int(config.get("corpus", {}).get("vocab_size", 0) or 0)
        cell = str(train.get("cell", "?"))
        try:
            params = parameter_count(cell, vocab, train["embed_size"], train["hidden_size"], train["layers"])
        except (KeyError, TypeError):
            params = 0
        curve = [(r["step"], r["train_loss"]) for r in metrics if isinstance(r.get("train_loss"), (int, float))]
        val = [(r["step"], r["val_loss"]) for r in metrics if isinstance(r.get("val_loss"), (int, float))]
        last = metrics[-1] if metrics else {}
        row = CompareRow(
            cell,
            run.name,
            str(path),
            params,
            int(train.get("hidden_size", 0) or 0),
            curve=curve,
            val_curve=val,
            best_val_loss=min((v for _, v in val), default=None),
        )
        elapsed = last.get("elapsed") if isinstance(last.get("elapsed"), (int, float)) else 0.0
        row.seconds = float(elapsed or 0.0)
        row.chars = int((last.get("step", 0) or 0) * train.get("batch_size", 0) * train.get("seq_len", 0))
        rows.append(row)
    return rows


class RunsCompareScreen(HostedScreen):
    BINDINGS = [Binding("escape", "back", "Back")]
    DEFAULT_CSS = """
    RunsCompareScreen #cmp-table { height: auto; padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, rows: list) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self.paths = paths
        self.rows: list = []

    def compose(self) -> ComposeResult:
        yield CompareChart(self.rows, id="cmp-chart", by_run=True)
        yield Static(Text("reading the runs\u2026"), id="cmp-table")
        yield KeyBar()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="reading the runs to compare")
    def _load(self) -> None:
        self.post_message(self.Loaded(rows_for(self.paths)))

    def on_runs_compare_screen_loaded(self, message: Loaded) -> None:
        from rnn_tui.core.compare import table_lines

        self.rows[:] = message.rows
        lines = table_lines(self.rows)
        text = Text(("run".ljust(max((len(r.run_name) for r in self.rows), default=3)) + "  " + lines[0]), style="bold")
        width = max((len(r.run_name) for r in self.rows), default=3)
        for index, (row, line) in enumerate(zip(self.rows, lines[1:])):
            text.append("\n")
            text.append(row.run_name.ljust(width) + "  ", style=CompareChart.run_style(index))
            text.append(line)
        self.query_one("#cmp-table", Static).update(text)
        self.query_one(CompareChart).refresh()

    def action_back(self) -> None:
        self.app.pop_screen()

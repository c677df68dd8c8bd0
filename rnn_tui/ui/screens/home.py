"""The home screen: the saved runs, the selected one's loss curve, and what can be done with them.

``rnn-tui`` with no corpus opens here. Enter opens the selected run (its dashboard, training on
from where it stopped; a run another process trains is attached to), n starts a new one, and the
run's views (sample, gates, gradient flow), rename, delete and a comparison of marked runs are a
key each. The list is read in a thread worker: a runs folder on a slow disk never stalls a key.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from rnn_tui.ui.host import HostedScreen, host
from rnn_tui.ui.widgets.key_bar import KeyBar
from rnn_tui.ui.widgets.loss_chart import LossChart
from rnn_tui.ui.widgets.status_line import StatusLine

SORTS = ("last trained", "name", "best val", "steps")
EMPTY_INTRO = (
    "rnn-tui trains a character-level recurrent network on a text and shows it learning: the loss, "
    "samples that get better, the gates of every unit, the gradient flowing back through time."
)
EMPTY_KEYS = (
    ("Enter", "train an LSTM on Shakespeare's tragedies (the bundled demo)"),
    ("n", "a new run: pick the text (a demo or a file of yours), the cell and the size"),
    ("?", "what each screen shows, and every key"),
    ("q", "quit"),
)


def empty_home() -> Group:
    """What the home screen says with no runs: what the tool does, and the keys that start."""
    keys = Table.grid(padding=(0, 3))
    keys.add_column(style="bold", no_wrap=True)
    keys.add_column()
    for key, what in EMPTY_KEYS:
        keys.add_row(key, what)
    return Group(Text(EMPTY_INTRO), Text(""), Text("No runs yet.", style="bold"), Text(""), Padding(keys, (0, 0, 0, 2)))


@dataclass
class RunRow:
    """One run as the list shows it (read off its folder by the worker)."""

    name: str
    path: str
    cell: str
    size: str
    corpus: str
    steps: int
    best_val: float | None
    last: float
    live: str  # "", "live" (another process trains it), "this app"
    checkpoints: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def openable(self) -> bool:
        return bool(self.checkpoints) or bool(self.live)


def read_rows(root: Path, ours: str | None) -> list[RunRow]:
    """Every run under ``root`` (``ours``: the run this app trains, shown as such)."""
    from rnn_tui.core.live import live_run
    from rnn_tui.core.runs import list_runs

    rows = []
    for run in list_runs(root):
        summary = run.summary()
        try:
            corpus = Path(run.read_config()["corpus"].get("path", "?")).name
        except Exception:  # noqa: BLE001 - a damaged run is listed all the same, with what is known
            corpus = "?"
        live = ""
        if ours is not None and Path(ours) == run.path:
            live = "this app"
        elif live_run(run.path) is not None:
            live = "live"
        rows.append(
            RunRow(
                summary["name"],
                summary["path"],
                summary["cell"],
                summary["size"],
                corpus,
                summary["steps"],
                summary["best_val_loss"],
                summary["last_change"] or 0.0,
                live,
                tuple(summary["checkpoints"]),
                tuple(summary["problems"]),
            )
        )
    return rows


def sort_rows(rows: list[RunRow], key: str) -> list[RunRow]:
    if key == "name":
        return sorted(rows, key=lambda r: r.name.lower())
    if key == "best val":
        return sorted(rows, key=lambda r: (r.best_val is None, r.best_val or 0.0))
    if key == "steps":
        return sorted(rows, key=lambda r: -r.steps)
    return sorted(rows, key=lambda r: -r.last)


def ago(when: float, now: float | None = None) -> str:
    if not when:
        return "-"
    seconds = max(0.0, (now or time.time()) - when)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit} ago"
    return "just now"


class RunsTable(DataTable):
    """The runs list: Enter opens the selected run (shown in the footer, unlike DataTable's own)."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]


def short_corpus(name: str, limit: int = 18) -> str:
    stem = name[:-4] if name.endswith(".txt") else name
    return stem if len(stem) <= limit else stem[: limit - 1] + "\u2026"


def short_name(name: str, limit: int) -> str:
    """A run name cut in the middle: default names differ at the end (their time), so the end stays."""
    if len(name) <= limit:
        return name
    tail = (limit - 1) // 2
    return name[: limit - 1 - tail] + "\u2026" + name[len(name) - tail :]


def fit_widths(width: int, names: list[str], corpora: list[str], fixed: int) -> tuple[int, int]:
    """How many characters the name and corpus columns get in a table ``width`` cells wide, where the
    other columns (with every column's padding) take ``fixed``: both whole when they fit, else the
    name gets two thirds of what is left, never below 12 and 8 characters."""
    longest_name = max((len(n) for n in names), default=4)
    longest_corpus = max((len(short_corpus(c, 10**6)) for c in corpora), default=6)
    room = max(20, width - fixed)
    if longest_name + longest_corpus <= room:
        return longest_name, longest_corpus
    corpus = max(8, min(longest_corpus, room // 3))
    name = max(12, min(longest_name, room - corpus))
    corpus = max(8, min(longest_corpus, room - name))
    return name, corpus


class HomeScreen(HostedScreen):
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("escape", "back", "Back to training"),
        Binding("n", "new", "New run"),
        Binding("i", "view('sample')", "Sample"),
        Binding("g", "view('gates')", "Gates"),
        Binding("f", "view('gradflow')", "Grad flow", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("c", "compare", "Compare", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("f2", "rename", "Rename", show=False),
        Binding("delete,d", "delete", "Delete", show=False),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]
    DEFAULT_CSS = """
    HomeScreen #home-body { height: 1fr; }
    HomeScreen #runs { height: 1fr; min-height: 5; }
    HomeScreen #home-side { height: 1fr; }
    HomeScreen #home-chart { height: 1fr; min-height: 6; }
    HomeScreen #home-detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    HomeScreen #home-empty { height: 1fr; padding: 1 2; display: none; }
    HomeScreen.empty #home-empty { display: block; }
    HomeScreen.empty #home-body { display: none; }
    HomeScreen #home-body { layout: vertical; }
    HomeScreen.wide #home-body { layout: horizontal; }
    HomeScreen.wide #runs { width: 3fr; }
    HomeScreen.wide #home-side { width: 2fr; }
    HomeScreen #status { background: $boost; }
    """

    class RowsRead(Message):
        def __init__(self, rows: list[RunRow], problem: str | None = None) -> None:
            super().__init__()
            self.rows, self.problem = rows, problem

    class CurveRead(Message):
        def __init__(self, path: str, train: list, val: list, marks: list) -> None:
            super().__init__()
            self.path, self.train, self.val, self.marks = path, train, val, marks

    def __init__(self, runs_root: Path) -> None:
        super().__init__()
        self.runs_root = Path(runs_root)
        self.rows: list[RunRow] = []
        self.widths = (40, 18)  # the name and corpus columns, in characters (fitted to the width)
        self.marked: set[str] = set()
        self.sort_key = SORTS[0]
        self.loaded = False

    def compose(self) -> ComposeResult:
        from rnn_tui.core.textutil import home_relative

        with Horizontal(id="home-body"):
            table: DataTable = RunsTable(id="runs", cursor_type="row", zebra_stripes=True, classes="pane")
            table.border_title = f"runs in {home_relative(str(self.runs_root))}"
            yield table
            with Vertical(id="home-side"):
                yield LossChart(id="home-chart", classes="pane")
                yield Static("", id="home-detail")
        empty = Static(empty_home(), id="home-empty", classes="pane accent")
        empty.border_title = "welcome"
        yield empty
        yield StatusLine(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (
            ("mark", ""),
            ("name", "run"),
            ("model", "model"),
            ("corpus", "corpus"),
            ("steps", "steps"),
            ("best", "best val"),
            ("last", "trained"),
        ):
            table.add_column(label, key=key)
        self.refresh_runs()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= 140, "wide")  # side by side only where the table keeps every column
        if self.rows:
            self.call_after_refresh(self._refit)  # the table's new width is known after the layout

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.refresh_runs()

    def say(self, message: str, level: str = "info") -> None:
        self.query_one(StatusLine).say(message, level)

    # ---- reading ------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self._read_rows(self._ours())

    def _ours(self) -> str | None:
        return host(self).live_run_dir

    @work(thread=True, exclusive=True, group="home-rows", exit_on_error=False, description="listing the runs")
    def _read_rows(self, ours: str | None) -> None:
        try:
            self.post_message(self.RowsRead(read_rows(self.runs_root, ours)))
        except OSError as exc:
            self.post_message(self.RowsRead([], f"could not list {self.runs_root} ({exc.strerror or exc})"))

    def on_home_screen_rows_read(self, message: RowsRead) -> None:
        self.loaded = True
        if message.problem:
            self.say(message.problem, "error")
        table = self.query_one(DataTable)
        selected = self.selected.name if self.selected is not None else None
        self.rows = sort_rows(message.rows, self.sort_key)
        self.marked &= {r.name for r in self.rows}
        self._fill_table()
        self.set_class(not self.rows, "empty")
        self.refresh_bindings()  # the keys about a selected run come and go with the rows
        table.disabled = not self.rows  # hidden and empty, it must not take focus (and Enter) back
        if self.rows:
            names = [r.name for r in self.rows]
            table.move_cursor(row=names.index(selected) if selected in names else 0)
            self._show_selected()
            table.focus()
        else:
            self.say("no saved runs yet: Enter trains the demo, n opens the new-run form")

    def _fitted_widths(self) -> tuple[int, int]:
        """The name and corpus columns' widths for the table's width (whole where they fit)."""
        table = self.query_one(DataTable)
        width = table.size.width or self.size.width
        # What the other columns take, each padded by 2, and the table's border and scrollbar.
        cells = [self._cells(row) for row in self.rows]
        fixed = 4 + sum(
            2 + max([len(header)] + [c[i].cell_len for c in cells])
            for i, header in ((0, ""), (2, "model"), (4, "steps"), (5, "best val"), (6, "trained"))
        )
        return fit_widths(width, [r.name for r in self.rows], [r.corpus for r in self.rows], fixed)

    def _refit(self) -> None:
        """After a resize: the rows again only if their columns change (a refill moves nothing else)."""
        if self.rows and self._fitted_widths() != self.widths:
            self._fill_table()

    def _fill_table(self) -> None:
        """The rows again, the name and corpus cut to the table's width (whole where they fit)."""
        table = self.query_one(DataTable)
        self.widths = self._fitted_widths()
        cursor = table.cursor_row
        table.clear(columns=False)
        for row in self.rows:
            table.add_row(*self._cells(row), key=row.name)
        if self.rows:
            table.move_cursor(row=min(max(cursor, 0), len(self.rows) - 1))

    def _cells(self, row: RunRow) -> tuple:
        best = "-" if row.best_val is None else f"{row.best_val:.4f}"
        # One column for when: a run that trains now says so there, in green.
        when = Text("\u25cf training", style="bold green") if row.live else Text(ago(row.last))
        return (
            Text("\u2713" if row.name in self.marked else " ", style="bold magenta"),
            Text(short_name(row.name, self.widths[0])),
            Text(f"{row.cell} {row.size}") if row.cell != "?" else Text("damaged", style="yellow"),
            Text(short_corpus(row.corpus, self.widths[1])),
            Text(f"{row.steps:,}", justify="right"),
            Text(best, justify="right"),
            when,
        )

    @property
    def selected(self) -> RunRow | None:
        if not self.rows:
            return None
        table = self.query_one(DataTable)
        index = table.cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def _show_selected(self) -> None:
        row = self.selected
        detail = self.query_one("#home-detail", Static)
        chart = self.query_one(LossChart)
        if row is None:
            detail.update("")
            chart.clear()
            return
        chart.border_title = f"{row.name}: loss"
        parts = [f"{row.cell} {row.size} on {row.corpus}", f"{row.steps:,} steps"]
        if row.best_val is not None:
            parts.append(f"best val {row.best_val:.4f}")
        parts.append("checkpoints: " + (", ".join(row.checkpoints) or "none yet"))
        text = Text(" \u00b7 ".join(parts))
        if row.problems:
            text.append("\n" + "; ".join(row.problems), style="yellow")
        detail.update(text)
        self._read_curve(row.path)

    @work(thread=True, exclusive=True, group="home-curve", exit_on_error=False, description="reading a run's curve")
    def _read_curve(self, path: str) -> None:
        from rnn_tui.core.runs import Run

        try:
            rows = Run(Path(path)).read_metrics()
        except (OSError, ValueError):
            rows = []
        train = [(r["step"], r["train_loss"]) for r in rows if _finite(r.get("train_loss"))]
        val = [(r["step"], r["val_loss"]) for r in rows if _finite(r.get("val_loss"))]
        marks = [(r["step"], f"x{r['lr_change']:g}") for r in rows if _finite(r.get("lr_change"))]
        self.post_message(self.CurveRead(path, train, val, marks))

    def on_home_screen_curve_read(self, message: CurveRead) -> None:
        row = self.selected
        if row is None or row.path != message.path:
            return
        chart = self.query_one(LossChart)
        chart.clear()
        chart.add_history(message.train, message.val)
        for step, label in message.marks:
            chart.mark(step, label)

    # ---- actions ------------------------------------------------------------------------------
    def _need_run(self) -> RunRow | None:
        row = self.selected
        if row is None:
            self.say("no run selected: n starts a new one", "warning")
        return row

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys about a selected run mean nothing with no runs (hidden); Esc goes back to a run this app trains.
        if action in ("view", "mark", "compare", "sort", "rename", "delete"):
            return bool(self.rows)
        if action == "back":
            return host(self).live_run_dir is not None
        return True

    def action_back(self) -> None:
        host(self).show_dashboard()

    def action_open(self) -> None:
        app = host(self)
        if not self.rows:
            app.start_new_run({})
            return
        row = self._need_run()
        if row is None:
            return
        if row.live == "this app":
            app.show_dashboard()
        elif row.live:
            app.attach_run(row.path)
        elif not row.checkpoints:
            self.say(f"{row.name} has no checkpoint yet: nothing to open (d deletes it)", "warning")
        else:
            app.resume_run(row.name)

    def action_new(self) -> None:
        from rnn_tui.ui.screens.new_run import NewRunScreen

        self.app.push_screen(NewRunScreen(self.runs_root))

    def action_view(self, which: str) -> None:
        row = self._need_run()
        if row is None:
            return
        if not row.checkpoints and row.live != "this app":
            self.say(f"{row.name} has no checkpoint yet: no weights to look at", "warning")
            return
        host(self).browse_run(row.path, which)

    def action_mark(self) -> None:
        row = self._need_run()
        if row is None:
            return
        self.marked ^= {row.name}
        table = self.query_one(DataTable)
        table.update_cell(row.name, "mark", self._cells(row)[0])
        self.say(f"{len(self.marked)} marked for comparison: c compares them" if self.marked else "no runs marked")

    def action_compare(self) -> None:
        from rnn_tui.ui.screens.runs_compare import RunsCompareScreen

        chosen = [r for r in self.rows if r.name in self.marked]
        if len(chosen) < 2:
            self.say("mark two or more runs with space, then press c", "warning")
            return
        self.app.push_screen(RunsCompareScreen([Path(r.path) for r in chosen]))

    def action_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self.post_message(self.RowsRead(self.rows))
        self.say(f"sorted by {self.sort_key} (o: next)")

    def action_refresh(self) -> None:
        self.refresh_runs()

    def action_rename(self) -> None:
        from rnn_tui.ui.screens.confirm import AskScreen

        row = self._need_run()
        if row is None:
            return
        if row.live:
            self.say(f"{row.name} is training: stop it before renaming", "warning")
            return

        def renamed(new: str | None) -> None:
            from rnn_tui.core.errors import UserError
            from rnn_tui.core.runs import Run, rename_run

            if not new or new == row.name:
                return
            try:
                rename_run(Run(Path(row.path)), new.strip())
            except UserError as exc:
                self.say(str(exc), "error")
                return
            self.marked.discard(row.name)
            self.say(f"renamed {row.name} to {new.strip()}", "ok")
            self.refresh_runs()

        self.app.push_screen(AskScreen(f"New name for {row.name}:", row.name), renamed)

    def action_delete(self) -> None:
        from rnn_tui.ui.screens.confirm import ConfirmScreen

        row = self._need_run()
        if row is None:
            return
        if row.live:
            self.say(f"{row.name} is training: stop it first (rnn-tui stop {row.name})", "warning")
            return
        best = f", best val {row.best_val:.4f}" if row.best_val is not None else ""

        def chosen(yes: bool | None) -> None:
            from rnn_tui.core.errors import UserError
            from rnn_tui.core.runs import Run, delete_run

            if not yes:
                self.say("nothing deleted")
                return
            try:
                left = delete_run(Run(Path(row.path)), wait_s=0.0)
            except UserError as exc:
                self.say(str(exc), "error")
                return
            self.marked.discard(row.name)
            kept = f" (left: {', '.join(left)})" if left else ""
            self.say(f"deleted {row.name}{kept}", "ok")
            self.refresh_runs()

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {row.name} ({row.steps:,} steps{best})?",
                "Its checkpoints, metrics and samples are removed for good.",
            ),
            chosen,
        )


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

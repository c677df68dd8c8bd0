"""Pictures of the dashboard, compare and gradient-flow screens from fixed events.

A cut label, a stale number or a blank area shows up as a changed picture.
Clocks are frozen (the status line's time, the panel's "saved 2m ago") and the
run folder sits under a fixed HOME, so the pictures do not depend on when or
where they are taken. Update with ``pytest --snapshot-update`` and look at them.
"""

import math
import os
import time

import pytest

from rnn_tui.core import events as ev
from rnn_tui.core.compare import CompareRow
from rnn_tui.core.gradflow import GradFlow
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.messages import TrainerEvent
from rnn_tui.ui.screens.compare import CompareScreen
from rnn_tui.ui.screens.gradflow import GradFlowScreen
from rnn_tui.ui.widgets.loss_chart import LossChart
from rnn_tui.ui.widgets.stats import StatsPanel
from rnn_tui.ui.widgets.status_line import StatusLine
from tests.ui.helpers import progress, started, wait_for
from tests.ui.test_dashboard import write_history

NOW = 1_700_000_000.0
SIZES = [(80, 24), (120, 40)]
SAMPLE = (
    "ROMEO.\nWhat [bold]light[/] through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n"
    "JULIET.\nAy me!\n\nROMEO.\nShe speaks. O, speak again, bright angel!\nFor thou art as glorious "
    "to this night, being o'er my head,\nAs is a winged messenger of heaven"
)


@pytest.fixture
def frozen(monkeypatch, tmp_path):
    """UTC, a fixed HOME; returns the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield home
    monkeypatch.undo()
    time.tzset()


async def freeze(app, pilot) -> None:
    await wait_for(pilot, lambda: app.train_screen.query(StatsPanel), timeout=10)
    screen = app.train_screen
    screen.query_one(StatsPanel).clock = lambda: NOW
    screen.query_one(StatusLine).clock = lambda: NOW


def losses(first: int, last: int):
    # a falling loss with a fixed wiggle, as training draws it
    return [
        progress(
            s, 1.4 + 2.8 * math.exp(-s / 70) + 0.06 * math.sin(s * 1.7), epoch=s // 500, epoch_fraction=s % 500 / 500
        )
        for s in range(first, last + 1)
    ]


def training_events(run_dir: str):
    return [
        started(run_dir=run_dir),
        *losses(1, 240),
        ev.EvalResult(100, 2.31, 2.31, True),
        ev.EvalResult(200, 1.8612, 1.8612, True),
        ev.Saved(200, f"{run_dir}/best.pt", "best", "best"),
        ev.Sample(236, SAMPLE, 0.8),
        ev.Saved(240, f"{run_dir}/latest.pt", "latest", "autosave"),
    ]


async def inject(app, pilot, events) -> None:
    for event in events:
        app.post_message(TrainerEvent(event))
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_while_training(snap_compare, frozen, size):
    app = RnnTuiApp()

    async def run_before(pilot):
        await freeze(app, pilot)
        await inject(app, pilot, training_events(str(frozen / "runs" / "demo-run")))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_dashboard_resumed_with_history(snap_compare, frozen, size):
    run_dir = frozen / "runs" / "demo-run"
    write_history(run_dir, last_step=400, bad_rows=False)
    os.utime(run_dir / "latest.pt", (NOW - 300, NOW - 300))
    app = RnnTuiApp()

    async def run_before(pilot):
        await freeze(app, pilot)
        await inject(app, pilot, [started(run_dir=str(run_dir), start_step=400), *losses(401, 402)])
        chart = app.train_screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.train) > 2, timeout=10)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def compare_rows():
    rows = []
    for i, (cell, hidden, best, decay) in enumerate(
        [("rnn", 411, 2.1034, 3.2e-7), ("lstm", 256, 1.9021, 2.1e-2), ("gru", 290, 1.9207, 5.5e-3)]
    ):
        row = CompareRow(
            cell,
            f"cmp-{cell}",
            f"/runs/cmp-{cell}",
            812_345 + i,
            hidden,
            chars=1_000_000,
            seconds=20.0 + i,
            best_val_loss=best,
            decay_50=decay,
        )
        drop = 4.1 - best  # each curve ends near its best validation loss
        row.curve = [(s, 4.2 - drop * (1 - math.exp(-s / 60)) + 0.04 * math.sin(s * (i + 1))) for s in range(1, 301)]
        row.val_curve = [(s, 4.1 - drop * (1 - math.exp(-s / 60))) for s in range(50, 301, 50)]
        rows.append(row)
    return rows


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_compare_screen(snap_compare, frozen, size):
    app = RnnTuiApp(compare=True)

    async def run_before(pilot):
        app.compare.rows.extend(compare_rows())
        await app.push_screen(CompareScreen())
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def fixed_flow() -> GradFlow:
    distance = tuple(range(100))
    now = (tuple(10 ** (-d / 20) for d in distance), tuple(0.5 * 10 ** (-d / 12) for d in distance))
    initial = (tuple(10 ** (-d / 8) for d in distance), tuple(0.5 * 10 ** (-d / 7) for d in distance))
    return GradFlow("lstm", distance, now, initial)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_gradflow_screen(snap_compare, frozen, size):
    app = RnnTuiApp()

    async def run_before(pilot):
        await app.push_screen(GradFlowScreen(fixed_flow(), 1234))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)

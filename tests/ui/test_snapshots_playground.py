"""Pictures of the playground's own screens at 80x24 and 120x40: the home with two saved runs and empty,
the new-run form, and the question a quit asks while training runs in its own process.

The runs are folders written here with fixed contents and times, the clocks ("2h ago", the status
line's time) are frozen and the runs sit under a fixed HOME, so a cut label or a moved box is the
only thing that changes a picture. Update with `pytest tests/ui/test_snapshots_playground.py
--snapshot-update` and look at them.
"""

import json
import math
import os
import time
import types

import pytest
import torch
from textual.widgets import Input

from rnn_tui.core.checkpoint import FORMAT
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.base import RnnTuiBase
from rnn_tui.ui.screens.home import HomeScreen
from rnn_tui.ui.screens.new_run import NewRunScreen
from rnn_tui.ui.screens.quit import QuitScreen
from rnn_tui.ui.widgets import status_line
from rnn_tui.ui.widgets.loss_chart import LossChart
from tests.ui.helpers import wait_for

NOW = 1_700_000_000.0
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def frozen(monkeypatch, runs_home):
    """UTC, HOME at the runs' home (the table's title reads ~/runs), every clock at NOW; the runs folder."""
    import rnn_tui.ui.screens.home as home

    runs_home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(runs_home))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    fixed_time = types.SimpleNamespace(time=lambda: NOW, strftime=time.strftime, localtime=time.localtime)
    monkeypatch.setattr(status_line, "time", fixed_time)
    real_ago = home.ago
    monkeypatch.setattr(home, "ago", lambda when, now=None: real_ago(when, NOW))
    yield runs_home / "runs"
    monkeypatch.undo()
    time.tzset()


def write_run(root, name, cell, layers, hidden, corpus, last_step, best, age):
    """A run folder as training leaves it: config, metrics (a falling curve with validations) and checkpoints."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    train = {"cell": cell, "layers": layers, "hidden_size": hidden, "embed_size": 64, "seed": 1337}
    config = {"train": train, "corpus": {"path": f"/data/{corpus}"}}
    (run_dir / "config.json").write_text(json.dumps(config))
    rows = []
    for step in range(10, last_step + 1, 10):
        row = {"step": step, "lr": 2e-3, "train_loss": round(best + 2.6 * math.exp(-step / 90), 4)}
        if step % 100 == 0:
            row["val_loss"] = round(best + 2.4 * math.exp(-step / 90), 4)
        rows.append(row)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for checkpoint in ("latest", "best"):
        torch.save({"format": FORMAT, "step": last_step}, run_dir / f"{checkpoint}.pt")
    for path in run_dir.iterdir():
        os.utime(path, (NOW - age, NOW - age))


async def home_loaded(pilot, curve: bool = False) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded, timeout=10)
    if curve:
        await wait_for(pilot, lambda: app.screen.query_one(LossChart).train, timeout=10)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_home_with_two_runs(snap_compare, frozen, size):
    write_run(frozen, "sonnets-lstm", "lstm", 2, 128, "shakespeare_sonnets.txt", 1200, 1.52, age=7200)
    write_run(frozen, "hello-rnn", "rnn", 1, 8, "hello.txt", 300, 0.41, age=300)
    app = RnnTuiApp(runs_root=frozen, home=True)
    assert snap_compare(app, terminal_size=size, run_before=lambda pilot: home_loaded(pilot, curve=True))


@pytest.mark.parametrize("size", SIZES)
def test_home_empty(snap_compare, frozen, size):
    app = RnnTuiApp(runs_root=frozen, home=True)
    assert snap_compare(app, terminal_size=size, run_before=home_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_new_run_form(snap_compare, frozen, size):
    app = RnnTuiApp(runs_root=frozen, home=True)

    async def run_before(pilot):
        await home_loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen) and app.screen.vocab, timeout=20)
        for box in app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


class QuitApp(RnnTuiBase):
    """Only the quit question, over a blank screen: the picture shows the question alone."""

    TITLE = "QuitApp"

    def on_mount(self) -> None:
        self.push_screen(QuitScreen("shakespeare_sonnets-lstm-20250101-120000"))


@pytest.mark.parametrize("size", SIZES)
def test_quit_question(snap_compare, size):
    assert snap_compare(QuitApp(), terminal_size=size)


def test_the_pictures_name_no_temporary_folder():
    """A tmp path or a clock in a picture would make it differ from one run to the next."""
    folder = os.path.join(os.path.dirname(__file__), "__snapshots__", "test_snapshots_playground")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            svg = fh.read()
        assert "pytest-" not in svg and "/tmp/" not in svg, name

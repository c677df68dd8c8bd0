"""The playground, driven as a user would: the home screen, the new-run form, step, learning rate,
reset and delete. The trainer runs on a thread of the app (the in-process bridge), on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from textual.widgets import Input, Select

from rnn_tui.core.runs import Run
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.bridge import TrainerBridge
from rnn_tui.ui.screens.confirm import ConfirmScreen
from rnn_tui.ui.screens.home import HomeScreen
from rnn_tui.ui.screens.new_run import NewRunScreen
from rnn_tui.ui.screens.train import TrainScreen
from rnn_tui.ui.widgets.loss_chart import LossChart
from rnn_tui.ui.widgets.stats import StatsPanel
from tests.core.helpers import train
from tests.ui.helpers import screen_text, wait_for

# Cheap settings under whatever the screen asks for (which wins), and fast checks on top.
TINY = dict(layers=1, hidden_size=16, embed_size=8, seq_len=16, batch_size=4, warmup_steps=2)
FAST = dict(
    eval_every=10, eval_chars=2000, log_every=1, sample_every=0, save_every=0, precision="fp32", device="cpu", threads=1
)


def in_process(app, request):
    from dataclasses import replace

    overrides = {**({} if request.resume else TINY), **request.overrides, **FAST}
    if not request.resume:
        overrides["seq_len"], overrides["batch_size"] = 16, 4
    return TrainerBridge(app, replace(request, overrides=overrides), report_interval=0.05)


async def open_form(app, pilot) -> NewRunScreen:
    """Home, then n: the new-run form."""
    await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen))
    return app.screen


def playground(runs_root: Path) -> RnnTuiApp:
    # A trainer left training when a test ends is stopped by tests/conftest.py (every_trainer_recorded).
    return RnnTuiApp(runs_root=runs_root, bridge_maker=in_process, home=True)


@pytest.fixture
def saved_runs(small_corpus, runs_home):
    for name in ("older", "newer"):
        train(small_corpus, name=name, max_steps=12)
    return runs_home / "runs"


def table_names(app) -> list[str]:
    home = app.screen
    assert isinstance(home, HomeScreen)
    return [row.name for row in home.rows]


async def test_home_lists_runs_and_opens_one_with_its_history(saved_runs):
    app = playground(saved_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        assert table_names(app) == ["newer", "older"]  # last trained first
        await pilot.pause(0.3)
        text = "\n".join(screen_text(app))
        assert "newer" in text and "older" in text and "lstm 1x32" in text and "Open" in text
        await wait_for(pilot, lambda: app.screen.query_one(LossChart).train)  # the selected run's curve
        await pilot.press("down", "enter")  # open "older": its dashboard, training on from step 12
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen) and app.started is not None)
        assert app.started.run_name == "older" and app.started.start_step == 12
        chart = app.train_screen.query_one(LossChart)
        await wait_for(pilot, lambda: any(step <= 12 for step, _ in chart.train))  # history from metrics.jsonl
        await pilot.press("h")  # home again; the run goes on and is marked as this app's
        await wait_for(
            pilot, lambda: isinstance(app.screen, HomeScreen) and any(r.live == "this app" for r in app.screen.rows)
        )
        app.bridge.stop("test")
        await wait_for(pilot, lambda: app.bridge.done.is_set())


async def test_new_run_from_the_form_step_learning_rate_and_reset(runs_home, monkeypatch):
    from rnn_tui.ui.widgets.status_line import StatusLine

    said: list[str] = []  # every status message: a later one (a validation) may replace it before a look
    original_say = StatusLine.say

    def say(self, message, level="info"):
        said.append(message)
        original_say(self, message, level)

    monkeypatch.setattr(StatusLine, "say", say)
    root = runs_home / "runs"
    app = playground(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.pause(0.3)
        assert "No runs yet" in "\n".join(screen_text(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunScreen))
        form = app.screen
        form.query_one("#source", Select).value = "sonnets"
        await pilot.pause()
        form.query_one("#cell", Select).value = "gru"
        form.query_one("#hidden_size", Input).value = "64"
        form.query_one("#layers", Input).value = "1"
        await pilot.pause()
        assert "--demo sonnets --cell gru" in form.command and "--hidden-size 64" in form.command
        form.query_one("#hidden_size", Input).value = "0"  # refused beside the field, as the CLI says it
        await pilot.pause()
        assert "--hidden-size" in form.problems["hidden_size"]
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, NewRunScreen)  # nothing started
        form.query_one("#hidden_size", Input).value = "64"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen) and app.started is not None)
        config = app.started.config
        assert config["cell"] == "gru" and config["hidden_size"] == 64
        assert app.started.run_name.startswith("sonnets")

        # Pause, then step three times: the step count goes up by exactly three.
        await wait_for(pilot, lambda: app.train_screen.state == "running")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.train_screen.state == "paused")
        stats = app.train_screen.query_one(StatsPanel)
        await pilot.pause(0.3)
        before = stats.progress.step
        for _ in range(3):
            await pilot.press("full_stop")
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: stats.progress.step == before + 3)
        await pilot.pause(0.3)
        assert stats.progress.step == before + 3 and app.train_screen.state == "paused"

        # The learning rate doubled: on the chart, and in metrics.jsonl from the next step.
        await pilot.press("plus")
        await pilot.press("full_stop")
        chart = app.train_screen.query_one(LossChart)
        await wait_for(pilot, lambda: chart.marks)
        run_dir = Path(app.started.run_dir)
        first_run = app.started.run_name
        app.bridge.send(__import__("rnn_tui.core.commands", fromlist=["Save"]).Save())
        await wait_for(
            pilot,
            lambda: any(
                "lr_change" in json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
            ),
        )
        rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        changed = next(r for r in rows if "lr_change" in r)
        before_rows = [r for r in rows if r["step"] < changed["step"]]
        assert changed["lr_change"] == 2.0 and changed["lr"] == pytest.approx(2 * before_rows[-1]["lr"], rel=0.2)

        # Reset: the same configuration, a new seed, a new run; the old curve stays faint.
        old_seed = config["seed"]
        await pilot.press("R")
        await wait_for(pilot, lambda: app.started is not None and app.started.run_name != first_run)
        assert app.started.config["seed"] != old_seed and app.started.config["hidden_size"] == 64
        assert app.started.run_name == f"{first_run}-reset"  # named after the run it restarts
        assert app.started.config["lr"] == pytest.approx(2 * config["lr"])  # with the rate the user set
        await wait_for(pilot, lambda: any("reset:" in m for m in said))
        assert f"{first_run} saved and kept" in next(m for m in said if "reset:" in m)
        assert app.train_screen.query_one(LossChart).ghost
        assert Run(run_dir).checkpoint("latest").exists()  # the first run was saved before the reset
        app.bridge.stop("test")
        await wait_for(pilot, lambda: app.bridge.done.is_set())


async def test_delete_from_home_asks_first(saved_runs):
    app = playground(saved_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # no: nothing deleted
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert (saved_runs / "newer").exists()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and table_names(app) == ["older"])
        assert not (saved_runs / "newer").exists() and (saved_runs / "older").exists()


async def test_rename_from_home(saved_runs):
    app = playground(saved_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen.query("#answer"))
        app.screen.query_one("#answer", Input).value = "../escape"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert (saved_runs / "newer").exists() and "path separator" in app.screen.query_one("#status").message
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen.query("#answer"))
        app.screen.query_one("#answer", Input).value = "renamed"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and "renamed" in table_names(app))
        assert (saved_runs / "renamed" / "latest.pt").exists() and not (saved_runs / "newer").exists()


async def test_compare_marked_runs_and_views_from_home(saved_runs):
    from rnn_tui.ui.screens.gates import GatesScreen
    from rnn_tui.ui.screens.runs_compare import RunsCompareScreen

    app = playground(saved_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.press("c")
        assert "mark two" in app.screen.query_one("#status").message
        await pilot.press("space", "down", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsCompareScreen) and len(app.screen.rows) == 2)
        assert "newer" in "\n".join(screen_text(app)) and "older" in "\n".join(screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("g")  # the gate view on the selected saved run's weights
        await wait_for(pilot, lambda: isinstance(app.screen, GatesScreen))
        assert app.latest_snapshot is not None and app.latest_snapshot.step == 12 and not app.training_live
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.browsing is None


async def test_a_damaged_run_is_listed_and_the_others_still_open(saved_runs):
    (saved_runs / "older" / "config.json").write_text("{not json", encoding="utf-8")
    app = playground(saved_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        rows = {row.name: row for row in app.screen.rows}
        assert set(rows) == {"newer", "older"} and rows["older"].problems and not rows["newer"].problems
        names = [row.name for row in app.screen.rows]
        if names.index("older"):
            await pilot.press("down")
        await pilot.pause(0.3)
        text = "\n".join(screen_text(app))
        assert "config.json unreadable" in text and "damaged" in text


async def test_the_form_refuses_a_folder_as_the_text_beside_the_field(runs_home, tmp_path):
    app = playground(runs_home / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(app, pilot)
        form.query_one("#source", Select).value = "__file__"
        form.query_one("#corpus", Input).value = str(tmp_path)
        await wait_for(pilot, lambda: form.corpus_problem and "not a text file" in form.corpus_problem)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, NewRunScreen) and not (runs_home / "runs").exists()
        assert "not a text file" in "\n".join(screen_text(app))


async def test_opening_another_run_asks_before_it_stops_the_one_training(saved_runs):
    from rnn_tui.ui.screens.confirm import ConfirmScreen

    app = playground(saved_runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.press("enter")  # "newer" trains
        await wait_for(pilot, lambda: app.started is not None and app.started.run_name == "newer")
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and any(r.live for r in app.screen.rows))
        await wait_for(pilot, lambda: app.screen.selected is not None)
        names = [r.name for r in app.screen.rows]
        await pilot.press(*(["down"] * names.index("older")), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # no: "newer" trains on
        await pilot.pause(0.3)
        assert app.started.run_name == "newer" and not app.bridge.done.is_set()
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.started is not None and app.started.run_name == "older")
        assert app.bridges[0].done.is_set() and Run(saved_runs / "newer").checkpoint("latest").exists()


async def test_an_empty_home_trains_the_demo_on_enter_after_a_visit_to_help(runs_home):
    app = playground(runs_home / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.pause(0.2)
        text = "\n".join(screen_text(app))
        # Nothing trains and nothing is selected: no empty loss chart, no keys about a selected run.
        assert "waiting for the first steps" not in text and "Sample" not in text and "Gates" not in text
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.started is not None)
        assert app.started.run_name.startswith("shakespeare_tragedies")
        await pilot.press("h")  # home while it trains: Esc goes back to it
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.pause(0.2)
        assert "Back to training" in screen_text(app)[-1]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen))


async def test_the_form_judges_a_size_with_the_other_sizes_it_holds(runs_home):
    app = playground(runs_home / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(app, pilot)
        form.query_one("#layers", Input).value = "1"
        form.query_one("#hidden_size", Input).value = "14000"  # 1x14000 is allowed; 2x14000 is not
        await pilot.pause()
        assert form.values()[1] == {}
        form.query_one("#layers", Input).value = "2"
        await pilot.pause()
        assert "--layers 2 --hidden-size 14000" in form.values()[1]["hidden_size"]


def test_sampling_keeps_its_text_per_run():
    from rnn_tui.ui.screens.sample import kept_state

    class App:
        run_name = "a"

    app = App()
    kept_state(app)["prime_text"] = "hello"
    app.run_name = "b"
    assert "prime_text" not in kept_state(app)
    app.run_name = "a"
    assert kept_state(app)["prime_text"] == "hello"


async def test_leaving_a_paused_run_running_resumes_it_first():
    import threading

    from rnn_tui.core.commands import Resume

    class Bridge:
        can_leave_running, on_hangup = True, "continue"

        def __init__(self):
            self.sent, self.detached, self.done = [], False, threading.Event()

        def send(self, command):
            self.sent.append(command)

        def detach(self):
            self.detached = True

    bridge = Bridge()
    app = RnnTuiApp(bridge_factory=lambda a: bridge)
    app._start = lambda: None  # nothing to start: the bridge is a stand-in
    async with app.run_test(size=(80, 24)) as pilot:
        app.train_screen._set_state("paused")
        await pilot.pause()
        app.leave_training_running(0)
        assert bridge.sent == [Resume()] and bridge.detached


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_home_fits_long_names_to_the_width(small_corpus, runs_home, tmp_path, size):
    """Default names are long: at 80 columns they once pushed steps, best and trained off the screen,
    and at 120 the corpus was cut with room to spare."""
    corpus = tmp_path / "shakespeare_tragedies.txt"
    corpus.write_text(small_corpus.read_text())
    names = ["shakespeare_tragedies-lstm-20261127-095040", "shakespeare_tragedies-gru-20261127-101010"]
    for name in names:
        train(corpus, name=name, max_steps=2)
    app = playground(runs_home / "runs")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        await pilot.pause(0.3)
        text = "\n".join(screen_text(app))
        header = next(line for line in screen_text(app) if "run" in line and "model" in line)
        for column in ("corpus", "steps", "best val", "trained"):
            assert column in header, header
        for name in names:  # each run told apart by what ends its name
            assert name[-8:] in text, text
        if size[0] >= 120:
            assert all(name in text for name in names) and "shakespeare_tragedies" in text


def test_a_bridge_starts_its_trainer_once():
    """Enter on home before the app's first refresh started the run twice: the second worker found the
    run locked, failed, and marked the bridge done while the first trained on, unseen and unstoppable."""
    from types import SimpleNamespace

    from rnn_tui.core.orchestrate import RunRequest
    from rnn_tui.ui.remote import RemoteBridge

    workers = []
    app = SimpleNamespace(run_worker=lambda *a, **k: workers.append(a), post_message=lambda m: None)
    bridge = TrainerBridge(app, RunRequest(corpus="x.txt"))
    bridge.start()
    bridge.start()
    assert len(workers) == 1
    launched = []

    def start_service(*args, **kwargs):
        launched.append(args)
        raise OSError("not in this test")  # the launch itself is not what is tested here

    import rnn_tui.core.service as service

    remote = RemoteBridge(app, RunRequest(corpus="x.txt"))
    real, service.start_service = service.start_service, start_service
    try:
        remote.start()
        remote.start()
    finally:
        service.start_service = real
    assert len(launched) == 1


def test_views_beside_a_trainer_process_use_one_torch_thread():
    """A view's torch work on several threads spun against the trainer's: a first gate trace took 19.5 s."""
    from types import SimpleNamespace

    from rnn_tui.core.orchestrate import RunRequest
    from rnn_tui.ui.messages import SnapshotReady
    from rnn_tui.ui.remote import VIEW_THREADS, RemoteBridge

    posted = []
    remote = RemoteBridge(SimpleNamespace(post_message=posted.append), RunRequest(corpus="x.txt"))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        remote._weights_ready = True  # torch is loaded: weights are posted as they come
        remote._weights(SimpleNamespace(decode_lazily=lambda: "weights"))
        assert torch.get_num_threads() == VIEW_THREADS == 1
        assert [type(m) for m in posted] == [SnapshotReady]
    finally:
        torch.set_num_threads(before)

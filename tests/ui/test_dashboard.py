import time

import pytest

from rnn_tui.core import events as ev
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.bridge import TrainerBridge
from rnn_tui.ui.messages import TrainerEvent
from rnn_tui.ui.widgets.loss_chart import LossChart
from rnn_tui.ui.widgets.sample_log import SampleLog
from rnn_tui.ui.widgets.stats import StatsPanel
from rnn_tui.ui.widgets.status_line import StatusLine
from tests.conftest import tiny_config
from tests.ui.helpers import plain, progress, started, wait_for


async def inject(app, pilot, *events):
    for event in events:
        app.post_message(TrainerEvent(event))
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_dashboard_renders_injected_events(size):
    app = RnnTuiApp()
    async with app.run_test(size=size) as pilot:
        await inject(app, pilot, started(), *[progress(s, 4.0 - s * 0.02) for s in range(1, 60)],
                     ev.EvalResult(50, 3.1, 3.1, True), ev.Sample(55, "ROMEO. [bold]not bold[/] [link=x]y\x1b[31m", 0.8))
        screen = app.train_screen
        stats = plain(screen.query_one(StatsPanel).table())
        for needle in ("LSTM 2x256", "812.3k", "CPU, 2 threads", "bf16", "59", "54.3k", "2m05s", "3.1000"):
            assert needle in stats, stats
        chart = screen.query_one(LossChart)
        assert len(chart.train) == 59 and chart.val == [(50, 3.1)]
        drawn = chart.render().plain
        assert "nats/char" in chart.border_title and "59" in drawn and any(0x2800 < ord(c) < 0x2900 for c in drawn)
        sample = screen.query_one(SampleLog)
        shown = str(sample.render())
        assert "[bold]not bold[/] [link=x]y" in shown and "\x1b" not in shown and "\u241b" in shown
        assert "temperature 0.8" in sample.border_title
        for widget in (chart, screen.query_one(StatsPanel), sample):
            assert widget.region.width > 0 and widget.region.height > 0
            assert widget.region.right <= size[0] and widget.region.bottom <= size[1]


async def test_bits_toggle_and_nan_never_plotted():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started(), progress(1, 2.0), progress(2, float("nan")), progress(3, 1.0))
        chart = app.train_screen.query_one(LossChart)
        assert [s for s, _ in chart.train] == [1, 3]
        await pilot.press("b")
        assert chart.bits and "bits/char" in chart.border_title
        await pilot.press("r")
        assert not chart.show_raw


async def test_training_error_shows_in_the_app_without_crashing():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started(), ev.Failed(12, "out of memory on cuda:0", "lower --batch-size", "/r", "/r/latest.pt"))
        assert app.is_running
        status = str(app.train_screen.query_one(StatusLine).render())
        assert "out of memory" in status and "/r/latest.pt" in status
        assert app.failed is not None


async def test_help_and_pause_binding_switch():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started())
        screen = app.train_screen
        assert screen.check_action("pause", ()) and not screen.check_action("resume", ())
        await inject(app, pilot, ev.StateChanged("paused"))
        assert not screen.check_action("pause", ()) and screen.check_action("resume", ())
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen is screen


def bridge_for(corpus, name, **changes):
    cfg = tiny_config(**{"sample_every": 0.5, "eval_every": 25, **changes}).to_dict()
    return lambda app: TrainerBridge(app, str(corpus), {"name": name}, cfg, report_interval=0.1)




async def test_real_training_run_pause_resume_and_quit_saves(small_corpus, runs_home):
    app = RnnTuiApp(bridge_factory=bridge_for(small_corpus, "live", max_steps=100_000))
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.train_screen.query_one(StatsPanel)
        chart = app.train_screen.query_one(LossChart)
        await wait_for(pilot, lambda: stats.progress is not None and stats.progress.step >= 60)
        first = [v for _, v in chart.train[:10]]
        last = [v for _, v in chart.train[-10:]]
        assert sum(last) / 10 < sum(first) / 10 - 0.3
        await wait_for(pilot, lambda: app.train_screen.query_one(SampleLog).text != "")
        await pilot.press("space")
        await wait_for(pilot, lambda: stats.state == "paused")
        paused_at = stats.progress.step
        await pilot.pause(0.6)
        assert stats.progress.step == paused_at
        await pilot.press("space")
        await wait_for(pilot, lambda: stats.state == "running")
        await wait_for(pilot, lambda: stats.progress.step > paused_at + 5)
        started_quit = time.monotonic()
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, timeout=5)
        assert time.monotonic() - started_quit < 2.0
    assert app.return_code == 0
    assert app.finished is not None and app.finished.reason == "quit"
    from rnn_tui.core.runs import load_checkpoint

    assert load_checkpoint(runs_home / "runs" / "live" / "latest.pt")["step"] == app.finished.step


async def test_markup_corpus_renders_literally(tmp_path):
    corpus = tmp_path / "markup.txt"
    corpus.write_text(("[bold]x[/] [link=http://a]b[/link] [red] {\"json\": [1, 2]} \\[ ] ] [/]\n" * 400))
    app = RnnTuiApp(bridge_factory=bridge_for(corpus, "markup", max_steps=100_000, sample_every=0.3))
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.train_screen.query_one(SampleLog)
        await wait_for(pilot, lambda: "[" in log.text)
        assert log.text in str(log.render()) or log.text.replace("\n", "") in str(log.render()).replace("\n", "")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, timeout=5)


async def test_bad_corpus_exits_with_code_2(tmp_path):
    corpus = tmp_path / "latin.txt"
    corpus.write_bytes("caf\u00e9\n".encode("latin-1") * 100)
    app = RnnTuiApp(bridge_factory=bridge_for(corpus, "bad"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_code == 2


async def test_tiny_terminal_shows_a_notice_and_recovers():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started())
        screen = app.train_screen
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert screen.has_class("too-small") and screen.query_one("#too-small").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not screen.has_class("too-small") and screen.query_one(LossChart).region.height > 3


async def test_command_palette_lists_the_training_actions():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Pause or resume training", "Save a checkpoint now", "Gate view", "Interactive sampling", "Save and quit"):
            assert wanted in titles

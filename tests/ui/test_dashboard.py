import math
import time

import pytest
import torch

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
        await inject(
            app,
            pilot,
            started(),
            *[progress(s, 4.0 - s * 0.02) for s in range(1, 60)],
            ev.EvalResult(50, 3.1, 3.1, True),
            ev.Sample(55, "ROMEO. [bold]not bold[/] [link=x]y\x1b[31m", 0.8),
        )
        screen = app.train_screen
        stats = plain(screen.query_one(StatsPanel).table())
        needles = ["LSTM 2x256", "CPU, 2 threads", "59", "54.3k", "2m05s", "3.1000 nats", "3.1000, step 50"]
        if size == (120, 40):  # at 80x24 the least useful rows make way for the losses
            needles += ["812.3k", "bf16"]
        for needle in needles:
            assert needle in stats, stats
        chart = screen.query_one(LossChart)
        assert len(chart.train) == 59 and chart.val == [(50, 3.1)]
        drawn = chart.render().plain
        assert "nats/char" in chart.border_title and "50" in drawn and any(0x2800 < ord(c) < 0x2900 for c in drawn)
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
        await inject(
            app, pilot, started(), ev.Failed(12, "out of memory on cuda:0", "lower --batch-size", "/r", "/r/latest.pt")
        )
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
    from rnn_tui.core.orchestrate import RunRequest

    request = RunRequest(corpus=str(corpus), overrides=cfg, name=name)
    return lambda app: TrainerBridge(app, request, report_interval=0.1)


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
    from rnn_tui.core.checkpoint import load_checkpoint

    assert load_checkpoint(runs_home / "runs" / "live" / "latest.pt")["step"] == app.finished.step


async def test_markup_corpus_renders_literally(tmp_path):
    corpus = tmp_path / "markup.txt"
    corpus.write_text('[bold]x[/] [link=http://a]b[/link] [red] {"json": [1, 2]} \\[ ] ] [/]\n' * 400)
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
        for wanted in (
            "Pause or resume training",
            "Save a checkpoint now",
            "Gate view",
            "Interactive sampling",
            "Save and quit",
        ):
            assert wanted in titles


def screen_lines(app) -> list[str]:
    """The screen as plain text lines, as a terminal would show it."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


def write_history(run_dir, last_step=200, bad_rows=True):
    """A run folder as a previous session leaves it: metrics every 10 steps, validations, latest.pt."""
    import json

    run_dir.mkdir(parents=True)
    rows = [
        {"step": s, "lr": 2e-3, "train_loss": round(1.5 + 2.5 * math.exp(-s / 80), 4)}
        for s in range(10, last_step + 1, 10)
    ]
    rows[9]["val_loss"] = 1.6193  # step 100: the best
    rows[-1]["val_loss"] = 1.70
    lines = [json.dumps(r) for r in rows]
    if bad_rows:
        lines[3:3] = ['{"step": "ten", "train_loss": "x"}', "[1, 2]", '{"step": 35, "train_loss": NaN}', '{"cut']
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    from rnn_tui.core.checkpoint import FORMAT

    torch.save({"format": FORMAT, "step": last_step}, run_dir / "latest.pt")  # what the panel reads of it
    return rows


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_resume_shows_the_history_best_and_last_save(tmp_path, size):
    import os

    run_dir = tmp_path / "resumed"
    write_history(run_dir)
    os.utime(run_dir / "latest.pt", (1_000_000.0, 1_000_000.0))
    app = RnnTuiApp()
    async with app.run_test(size=size) as pilot:
        stats = app.train_screen.query_one(StatsPanel)
        stats.clock = lambda: 1_000_000.0 + 125
        await inject(app, pilot, started(run_dir=str(run_dir), start_step=200), progress(201, 1.5))
        chart = app.train_screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.train) > 1 and stats.saved_step is not None)
        assert [s for s, _ in chart.train[:2]] == [10, 20] and chart.train[-1] == (201, 1.5)
        assert chart.val == [(100, 1.6193), (200, 1.70)]
        assert (stats.best_val, stats.best_step, stats.last_val, stats.saved_step) == (1.6193, 100, 1.70, 200)
        text = "\n".join(screen_lines(app))
        for needle in ("1.7000 nats", "1.6193, step 100", "step 200, 2m ago"):
            assert needle in text, text
        labels = [
            line.split("\u2524")[0].strip("\u2502 ") for line in chart.render().plain.splitlines() if "\u2524" in line
        ]
        assert len(labels) >= 2 and len(set(labels)) == len(labels), labels


async def test_a_late_viewer_shows_the_step_latest_pt_holds_not_the_newest_report(tmp_path):
    """A viewer attaching to a live run starts at the newest report (step 200 here) while latest.pt
    may hold an older step: the panel says what is on disk."""
    from rnn_tui.core.checkpoint import FORMAT

    run_dir = tmp_path / "live"
    write_history(run_dir, bad_rows=False)
    torch.save({"format": FORMAT, "step": 150}, run_dir / "latest.pt")
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.train_screen.query_one(StatsPanel)
        await inject(app, pilot, started(run_dir=str(run_dir), start_step=200), progress(201, 1.5))
        await wait_for(pilot, lambda: stats.saved_step is not None)
        assert stats.saved_step == 150
        await inject(app, pilot, ev.Saved(250, str(run_dir / "latest.pt"), "latest", "autosave"))
        assert stats.saved_step == 250


async def test_a_run_with_no_readable_checkpoint_says_saved_never(tmp_path):
    run_dir = tmp_path / "fresh"
    write_history(run_dir, bad_rows=False)
    (run_dir / "latest.pt").write_bytes(b"not a checkpoint")
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.train_screen.query_one(StatsPanel)
        await inject(app, pilot, started(run_dir=str(run_dir), start_step=200), progress(201, 1.5))
        chart = app.train_screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.train) > 1)
        await pilot.pause()
        assert stats.saved_step is None and "never" in stats.saved_text()


async def test_compare_resets_the_panel_and_names_the_model():
    import threading
    from types import SimpleNamespace

    app = RnnTuiApp(compare=True)
    async with app.run_test(size=(80, 24)) as pilot:
        done = threading.Event()
        done.set()
        app.bridge = SimpleNamespace(
            request=SimpleNamespace(compare=("rnn", "lstm", "gru")), done=done, send=lambda c: None, start=lambda: None
        )
        stats = app.train_screen.query_one(StatsPanel)
        await inject(
            app,
            pilot,
            started(run_name="cmp-lstm"),
            progress(10, 2.0),
            ev.EvalResult(10, 1.9, 1.9, True),
            ev.Saved(10, "/r/best.pt", "best", "best"),
        )
        assert stats.best_val == 1.9 and stats.saved_step == 10
        assert stats.border_title.startswith("model 1 of 3: lstm")
        await inject(app, pilot, started(run_name="cmp-gru", config={"cell": "gru", "layers": 2, "hidden_size": 290}))
        assert stats.best_val is None and stats.last_val is None and stats.saved_step is None and stats.progress is None
        assert stats.border_title.startswith("model 2 of 3: gru")
        assert app.train_screen.query_one(LossChart).train == []
        assert "1.9000" not in "\n".join(screen_lines(app))
        assert "model 2 of 3: gru" in app.train_screen.query_one(StatusLine).message


async def test_bits_switch_the_stats_panel_too():
    app = RnnTuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject(app, pilot, started(), progress(1, 2.0), ev.EvalResult(1, 1.5, 1.5, True))
        stats = app.train_screen.query_one(StatsPanel)
        assert "1.5000 nats" in plain(stats.table())
        await pilot.press("b")
        shown = plain(stats.table())
        assert (
            f"{1.5 / math.log(2):.4f} bits" in shown
            and f"{2.0 / math.log(2):.4f} bits" in shown
            and "nats" not in shown
        )
        assert "bits per character" in app.train_screen.query_one(StatusLine).message
        await inject(app, pilot, ev.EvalResult(2, 1.4, 1.4, True))
        message = app.train_screen.query_one(StatusLine).message
        assert f"{1.4 / math.log(2):.4f} bits" in message and "1.4000" not in message  # the status line follows too


async def test_the_device_row_follows_the_thread_tuner():
    app = RnnTuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject(app, pilot, started(device_name="CPU, 2 threads"), progress(1, 2.0, threads=2))
        stats = app.train_screen.query_one(StatsPanel)
        assert "CPU, 2 threads" in plain(stats.table())
        await inject(app, pilot, progress(2, 2.0, threads=1))
        shown = plain(stats.table())
        assert "CPU, 1 thread" in shown and "2 threads" not in shown


async def test_startup_notes_go_to_the_status_line_not_over_the_screen():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started(notes=("resumed demo-run at step 2,298", "no GPU found; training on the CPU")))
        message = app.train_screen.query_one(StatusLine).message
        assert "resumed demo-run at step 2,298" in message and "no GPU found" in message
        assert not app._notifications  # no toast covers the sample box or the status line


async def test_keys_answer_in_the_status_line_and_the_footer_follows_the_state():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started(), progress(1, 2.0))
        screen, status = app.train_screen, app.train_screen.query_one(StatusLine)
        await pilot.press("r")
        assert "raw curve hidden" in status.message
        await pilot.press("r")
        assert "raw curve shown" in status.message
        await pilot.press("c")
        assert "no comparison running" in status.message and not app._notifications
        assert "Pause" in screen_lines(app)[-1]
        await inject(app, pilot, ev.Finished(1, "max_steps", "/r", "/r/latest.pt", None))
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert "Pause" not in footer and "Resume" not in footer and "Save" not in footer and "Quit" in footer
        assert not screen.check_action("pause", ()) and not screen.check_action("save", ())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_numbers_and_footer_read_whole(size):
    app = RnnTuiApp()
    async with app.run_test(size=size) as pilot:
        app.train_screen.query_one(StatsPanel).clock = lambda: 5000.0  # "0s ago", however slow this machine
        await inject(
            app,
            pilot,
            started(),
            *[progress(12_345 + s, 4.0 - s * 0.02) for s in range(1, 30)],
            ev.EvalResult(12_000, 1.8612, 1.8612, True),
            ev.Saved(12_000, "/r/latest.pt", "latest", "autosave"),
            ev.StateChanged("paused"),
        )
        lines = screen_lines(app)
        text = "\n".join(lines)
        assert "\u2026" not in text and "\u258f" not in text  # no ellipsis, no cut footer entry
        for needle in ("1.8612, step 12,000", "step 12,000, 0s ago", "12,374", "Resume"):
            assert needle in text, text
        assert lines[-1].rstrip().endswith("Help")


async def test_a_sample_longer_than_its_box_says_so():
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started(), ev.Sample(5, "\n".join(f"line {k}" for k in range(20)), 0.8))
        await pilot.pause()
        log = app.train_screen.query_one(SampleLog)
        shown = log.content_size.height
        assert 0 < shown < 20 and log.border_subtitle == f"{20 - shown} more lines below"
        await inject(app, pilot, ev.Sample(6, "short", 0.8))
        await pilot.pause()
        assert log.border_subtitle == ""


async def test_a_key_repaints_the_stats_and_status_without_a_new_layout():
    """A key's answer is drawn in the next frame; a layout of the whole screen would add to it."""
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject(app, pilot, started(), progress(1, 2.0), ev.EvalResult(1, 1.5, 1.5, True))
        screen = app.train_screen
        stats, status = screen.query_one(StatsPanel), screen.query_one(StatusLine)
        layouts = []
        for widget in (stats, status):
            original = widget.refresh

            def record(*regions, _widget=widget, _original=original, **kwargs):
                layouts.append((type(_widget).__name__, kwargs.get("layout", False)))
                return _original(*regions, **kwargs)

            widget.refresh = record
        await pilot.press("b")
        await pilot.pause()
        assert ("StatsPanel", False) in layouts and ("StatusLine", False) in layouts, layouts
        assert "bits" in plain(stats.render()) and "bits per character" in plain(status.render())
        assert not any(layout for _, layout in layouts), layouts
        layouts.clear()
        status.say("x " * 60)  # wraps onto a second line: the screen is laid out again
        assert ("StatusLine", True) in layouts
        await pilot.pause()
        assert status.region.height == 2 and "x x" in "\n".join(screen_lines(app))
        layouts.clear()
        status.say("short again")
        assert ("StatusLine", True) in layouts
        await pilot.pause()
        assert status.region.height == 1


async def test_the_history_is_drawn_before_the_checkpoint_is_read(tmp_path, monkeypatch):
    """Reading latest.pt loads torch (~1 s in a fresh viewer): the chart of a long run does not wait for it."""
    import threading

    import rnn_tui.core.checkpoint as checkpoint

    run_dir = tmp_path / "long"
    write_history(run_dir, bad_rows=False)
    release, real = threading.Event(), checkpoint.peek_checkpoint

    def slow_peek(path):
        release.wait(10)
        return real(path)

    monkeypatch.setattr(checkpoint, "peek_checkpoint", slow_peek)
    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stats = app.train_screen.query_one(StatsPanel)
        chart = app.train_screen.query_one(LossChart)
        await inject(app, pilot, started(run_dir=str(run_dir), start_step=200), progress(201, 1.5))
        await wait_for(pilot, lambda: len(chart.train) > 1, timeout=5)
        assert stats.saved_step is None  # the checkpoint is still being read
        release.set()
        await wait_for(pilot, lambda: stats.saved_step is not None)
        assert stats.saved_step == 200

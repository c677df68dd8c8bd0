"""The playground's trainer commands: Step while paused, and the learning rate x2 and /2."""

import io
import math
import queue
import threading
import time

import pytest
import torch

from rnn_tui.cli.headless import _PlainView
from rnn_tui.core import checkpoint, wire
from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev
from rnn_tui.core.checkpoint import load_checkpoint
from rnn_tui.core.replay import Replay
from rnn_tui.core.service import LiveServer, connect
from rnn_tui.core.session import prepare
from rnn_tui.core.trainer import Trainer
from tests.core.helpers import losses, overrides, train

DEFERRED = pytest.mark.parametrize("defer", [False, True], ids=["checked", "deferred"])
BASE_LR = 4e-3
FLAT = {"warmup_steps": 0, "lr_decay": 1.0, "lr": BASE_LR}  # the rate is --lr at every step: a change is plain to see


def scripted(corpus, react, defer=False, hook=None, commands=None, name="run", report_interval=0.25, **changes):
    """Train, calling ``react(event, commands)`` on every event (on the trainer thread, as a face's sink runs)."""
    changes.setdefault("threads", 1)  # tiny models: a second thread only waits for a core the machine shares
    prepared = prepare(str(corpus), overrides(**changes), name=name)
    trainer = Trainer(prepared.config, prepared.corpus, prepared.run, report_interval=report_interval)
    trainer.defer_checks = defer
    commands = commands if commands is not None else queue.Queue()
    if hook:
        trainer.step_hook = hook(commands, trainer)
    events = []

    def sink(event):
        events.append(event)
        react(event, commands)

    watchdog = threading.Timer(60.0, trainer.request_stop, ("watchdog",))  # a paused trainer nobody steps
    watchdog.start()
    try:
        result = trainer.run(sink, commands)
    finally:
        watchdog.cancel()
        prepared.lock.release()
    assert getattr(result, "reason", None) != "watchdog", "the trainer was left waiting"
    return result, events, prepared.run


def after_pause(events):
    first = next(i for i, e in enumerate(events) if isinstance(e, ev.StateChanged))
    return events[first + 1 :]


def pause_at(step):
    def hook(commands, trainer):
        return lambda s: commands.put(cmd.Pause()) if s == step else None

    return hook


def shown(events):
    """What the dashboard gets, in order: (kind, step)."""
    kinds = (ev.Progress, ev.Snapshot, ev.Sample, ev.StateChanged)
    return [(type(e).__name__, getattr(e, "step", getattr(e, "state", None))) for e in events if isinstance(e, kinds)]


@DEFERRED
def test_three_steps_while_paused_train_exactly_three_and_each_shows_at_once(small_corpus, defer):
    def react(event, commands):
        if isinstance(event, ev.StateChanged) and event.state == "paused":
            for _ in range(3):
                commands.put(cmd.Step())
            commands.put(cmd.Stop())

    # hook at step index 5: the Pause is taken after step 6; live samples on (every 1000 s: none but the steps')
    result, events, run = scripted(
        small_corpus, react, defer=defer, hook=pause_at(5), max_steps=1000, sample_every=1000.0
    )
    assert isinstance(result, ev.Finished) and result.reason == "stopped" and result.step == 9
    stepped = after_pause(events)
    finished = next(i for i, e in enumerate(stepped) if isinstance(e, ev.Finished))
    # each step: its report, the weights for an open gate view, a sample; the pause holds throughout
    assert shown(stepped[:finished])[:9] == [
        ("Progress", 7),
        ("Snapshot", 7),
        ("Sample", 7),
        ("Progress", 8),
        ("Snapshot", 8),
        ("Sample", 8),
        ("Progress", 9),
        ("Snapshot", 9),
        ("Sample", 9),
    ]
    assert [e.state for e in events if isinstance(e, ev.StateChanged)] == ["paused"]
    assert [s for s, _ in losses(events)] == list(range(1, 10))
    assert [r["step"] for r in run.read_metrics()] == list(range(1, 10))
    assert load_checkpoint(run.checkpoint("latest"))["step"] == 9


def test_a_step_of_three_reports_its_three_losses(small_corpus):
    def react(event, commands):
        if isinstance(event, ev.StateChanged) and event.state == "paused":
            commands.put(cmd.Step(3))
        elif isinstance(event, ev.Snapshot) and event.step == 5:
            commands.put(cmd.Stop())  # sent with the Step, it would stop it after one step: a Stop never waits

    result, events, _ = scripted(small_corpus, react, hook=pause_at(1), max_steps=1000)
    assert result.step == 5
    progress = [e for e in after_pause(events) if isinstance(e, ev.Progress)]
    assert progress[0].step == 5 and [s for s, _ in progress[0].losses][-3:] == [3, 4, 5]
    assert not any(isinstance(e, ev.Sample) for e in events)  # live samples off (sample_every 0): none


def test_stepping_stops_at_max_steps(small_corpus):
    def react(event, commands):
        if isinstance(event, ev.StateChanged) and event.state == "paused":
            commands.put(cmd.Step(5))

    result, _, run = scripted(small_corpus, react, hook=pause_at(4), max_steps=7)
    assert isinstance(result, ev.Finished) and result.reason == "max_steps" and result.step == 7
    assert run.read_metrics()[-1]["step"] == 7


@DEFERRED
def test_stepping_keeps_the_nan_guard(small_corpus, defer):
    """Weights poisoned after the pause: steps are skipped, rolled back three times, then the run stops."""
    paused = {"on": False}

    def react(event, commands):
        if (
            isinstance(event, ev.StateChanged)
            and event.state == "paused"
            or paused["on"]
            and isinstance(event, ev.Snapshot)
        ):
            paused["on"] = True
            commands.put(cmd.Step(10))  # a user who keeps stepping

    def hook(commands, trainer):
        def on_step(step):
            if step == 5:
                commands.put(cmd.Pause())
            if paused["on"]:
                with torch.no_grad():
                    trainer.model.head.bias.fill_(float("nan"))

        return on_step

    # no timed reports: only the end of each Step reads the deferred checks back
    result, events, run = scripted(small_corpus, react, defer=defer, hook=hook, max_steps=1000, report_interval=1e9)
    if defer:  # the guard acts at the end of the Step that went bad, not after the user's next one
        stepped = after_pause(events)
        first_rollback = next(
            i for i, e in enumerate(stepped) if isinstance(e, ev.Notice) and "rolled back" in e.message
        )
        assert first_rollback < next(i for i, e in enumerate(stepped) if isinstance(e, ev.Snapshot))
    notices = [e.message for e in events if isinstance(e, ev.Notice)]
    assert any("not finite" in n and "skipped" in n for n in notices)
    assert sum("rolled back" in n for n in notices) == 3
    assert isinstance(result, ev.Failed) and "diverged" in result.message
    assert all(math.isfinite(v) for _, v in losses(events))
    assert all(torch.isfinite(t).all() for t in load_checkpoint(run.checkpoint("latest"))["model"].values())


def test_a_step_while_running_pauses_after_its_steps(small_corpus):
    def react(event, commands):
        if isinstance(event, ev.StateChanged) and event.state == "paused":
            commands.put(cmd.Stop())

    def hook(commands, trainer):
        return lambda s: commands.put(cmd.Step(2)) if s == 3 else None  # taken after step 4

    result, events, _ = scripted(small_corpus, react, hook=hook, max_steps=1000)
    assert result.step == 6
    assert shown(events)[-4:-1] == [("Progress", 6), ("Snapshot", 6), ("StateChanged", "paused")]


def rates(run):
    return {r["step"]: (r["lr"], r.get("lr_change")) for r in run.read_metrics()}


def scale_at(*changes):
    """A hook that sends ScaleLearningRate(factor) at each step index given; it is taken one step later."""

    def hook(commands, trainer=None):
        return lambda s: [commands.put(cmd.ScaleLearningRate(f)) for at, f in changes if at == s]

    return hook


@DEFERRED
def test_learning_rate_x2_then_half_marks_the_rows_where_it_changes(small_corpus, defer):
    # sent at step indices 10 and 20: taken after steps 11 and 21, so steps 12 and 22 train with the new rate
    result, events, run = scripted(
        small_corpus,
        lambda e, c: None,
        defer=defer,
        hook=scale_at((10, 2.0), (20, 0.5)),
        max_steps=30,
        log_every=7,
        **FLAT,
    )
    assert result.step == 30
    changes = [e for e in events if isinstance(e, ev.LearningRateChanged)]
    assert changes == [ev.LearningRateChanged(12, 2 * BASE_LR, 2.0, 2.0), ev.LearningRateChanged(22, BASE_LR, 0.5, 1.0)]
    logged = rates(run)
    assert sorted(logged) == [7, 12, 14, 20, 21, 22, 28, 30]  # every 7th, the evaluations', and both changes
    assert logged[12] == (2 * BASE_LR, 2.0) and logged[22] == (BASE_LR, 0.5)
    assert all(lr == pytest.approx(2 * BASE_LR if 12 <= step < 22 else BASE_LR) for step, (lr, _) in logged.items())
    assert [s for s, (_, change) in logged.items() if change is not None] == [12, 22]
    reported = {e.step: e.lr for e in events if isinstance(e, ev.Progress)}
    assert all(lr == pytest.approx(2 * BASE_LR if 12 <= step < 22 else BASE_LR) for step, lr in reported.items())


def test_a_resume_keeps_the_changed_rate_and_the_same_losses(small_corpus):
    dropout = {"dropout": 0.2, "layers": 2, **FLAT}  # the RNG state must carry over too
    _, full_events, _ = scripted(
        small_corpus, lambda e, c: None, hook=scale_at((10, 2.0)), name="full", max_steps=30, **dropout
    )
    _, _, part = scripted(
        small_corpus, lambda e, c: None, hook=scale_at((10, 2.0)), name="part", max_steps=20, **dropout
    )
    assert load_checkpoint(part.checkpoint("latest"))["user_lr_scale"] == 2.0
    result, resumed_events, run = train(None, resume="part", max_steps=30)
    assert result.step == 30 and sorted(dict(losses(resumed_events))) == list(range(21, 31))
    started = next(e for e in resumed_events if isinstance(e, ev.Started))
    assert any("x2" in note for note in started.notes)
    full = dict(losses(full_events))
    for step, value in losses(resumed_events):
        assert abs(full[step] - value) < 1e-6, step
    assert all(lr == pytest.approx(2 * BASE_LR) for step, (lr, _) in rates(run).items() if step > 20)


def test_a_checkpoint_without_a_user_scale_reads_as_one():
    assert checkpoint.counters({})["user_lr_scale"] == 1.0
    assert checkpoint.counters({"user_lr_scale": float("nan")})["user_lr_scale"] == 1.0
    assert checkpoint.counters({"user_lr_scale": 0.25})["user_lr_scale"] == 0.25


def test_the_rate_stays_within_the_limits_of_lr_and_bad_values_are_refused(small_corpus):
    commands = queue.Queue()
    for command in (
        cmd.Pause(),
        cmd.ScaleLearningRate(1e4),
        cmd.ScaleLearningRate(2.0),
        cmd.ScaleLearningRate(0.0),
        cmd.ScaleLearningRate(float("nan")),
        cmd.ScaleLearningRate(1e-12),
        cmd.Step(0),
        cmd.Stop(),
    ):
        commands.put(command)
    _, events, _ = scripted(small_corpus, lambda e, c: None, commands=commands, max_steps=10, **FLAT)
    changes = [e for e in events if isinstance(e, ev.LearningRateChanged)]
    assert [(c.lr, c.step) for c in changes] == [(pytest.approx(10.0), 1), (pytest.approx(1e-9), 1)]
    assert changes[0].factor == pytest.approx(10.0 / BASE_LR)
    notices = [e.message for e in events if isinstance(e, ev.Notice)]
    assert sum("would pass 10" in n for n in notices) == 1 and sum("already at 10" in n for n in notices) == 1
    assert sum("ignored" in n for n in notices) == 3  # factor 0, factor NaN, a Step of 0
    assert sum("would pass 1e-09" in n for n in notices) == 1


class Viewer:
    """A viewer on the trainer's socket, as the app's remote bridge is."""

    def __init__(self, path):
        self.sock = connect(path)
        self.sock.settimeout(0.1)
        self.reader = wire.FrameReader()
        self.records = []

    def send(self, *commands):
        self.sock.sendall(b"".join(wire.encode(c) for c in commands))

    def read_until(self, predicate, seconds=20.0):
        deadline = time.monotonic() + seconds
        while not predicate(self.records):
            assert time.monotonic() < deadline, [type(r).__name__ for r in self.records]
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                continue
            assert data, "the trainer hung up"
            self.records += self.reader.feed(data)
        return self.records


def test_step_and_learning_rate_reach_the_trainer_through_its_socket(small_corpus):
    prepared = prepare(str(small_corpus), overrides(max_steps=1000, log_every=5, **FLAT), name="served")
    trainer = Trainer(prepared.config, prepared.corpus, prepared.run, report_interval=100.0)
    commands = queue.Queue()
    commands.put(cmd.Pause())  # paused before the first step, until the viewer steps it
    server = LiveServer(commands, trainer.request_stop).start()
    done = {}
    thread = threading.Thread(target=lambda: done.setdefault("result", trainer.run(server.publish, commands)))
    thread.start()
    try:
        path = prepared.run.path / "live.sock"
        deadline = time.monotonic() + 20
        while not path.exists():
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        viewer = Viewer(path)
        viewer.read_until(lambda rs: any(isinstance(r, ev.StateChanged) and r.state == "paused" for r in rs))
        viewer.send(cmd.Step(), cmd.Step(), cmd.ScaleLearningRate(2.0), cmd.Step())
        records = viewer.read_until(lambda rs: any(isinstance(r, ev.Snapshot) and r.step == 3 for r in rs))
        assert [r.step for r in records if isinstance(r, ev.Progress)] == [1, 2, 3]
        assert [r for r in records if isinstance(r, ev.LearningRateChanged)] == [
            ev.LearningRateChanged(3, 2 * BASE_LR, 2.0, 2.0)
        ]
        viewer.send(cmd.Stop())
        viewer.read_until(lambda rs: any(isinstance(r, ev.Finished) for r in rs))
    finally:
        trainer.request_stop()
        thread.join(30)
        server.close(linger=0.5)
        prepared.lock.release()
    assert done["result"].step == 3
    assert rates(prepared.run)[3] == (2 * BASE_LR, 2.0)  # step 3 is not a multiple of --log-every, and logged


def test_a_late_viewer_gets_the_rate_changes_the_history_lacks():
    replay = Replay()
    replay.record(ev.Started("/r", "r", {}, 1, "cpu", "CPU", "fp32", 5, 100, 10, 4, 0))
    replay.record(ev.Progress(10, 0, 0.5, ((10, 2.0),), 1.0, 1e-3, 0.5, 1.0, None, 0, 0))
    change = ev.LearningRateChanged(11, 2e-3, 2.0, 2.0)
    replay.record(change)
    assert change in replay.events()  # its row is not in metrics.jsonl yet
    replay.record(ev.Progress(11, 0, 0.5, ((11, 2.0),), 1.0, 2e-3, 0.5, 1.0, None, 0, 0))
    assert change not in replay.events()  # now it is, and the history shows it


def test_headless_prints_one_line_for_a_rate_change():
    out = io.StringIO()
    _PlainView(out).handle(ev.LearningRateChanged(12, 8e-3, 2.0, 2.0))
    assert out.getvalue() == "learning rate x2 from step 12: 8.00e-03 (x2 of --lr)\n"

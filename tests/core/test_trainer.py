import math
import queue
import threading
import time
from pathlib import Path

import pytest
import torch

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev
from rnn_tui.core.batches import Streams, learning_rate
from rnn_tui.core.checkpoint import load_checkpoint
from tests.core.helpers import losses, train

DEFERRED = pytest.mark.parametrize("defer", [False, True], ids=["checked", "deferred"])


@DEFERRED
def test_loss_falls_run_saved_and_metrics_logged(small_corpus, defer):
    """``deferred``: the GPU's step (finite check on the device, read back per report), run on the CPU."""
    result, events, run = train(small_corpus, max_steps=120, lr=5e-3, defer=defer)
    assert isinstance(result, ev.Finished) and result.reason == "max_steps" and result.step == 120
    curve = [v for _, v in losses(events)]
    assert len(curve) == 120
    assert sum(curve[-10:]) / 10 < sum(curve[:10]) / 10 - 0.8
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == list(range(1, 121))
    assert all({"step", "train_loss", "lr", "grad_norm", "chars_per_sec", "elapsed"} <= set(r) for r in rows)
    assert all(type(r["grad_norm"]) is float for r in rows)
    assert any("val_loss" in r for r in rows)
    state = load_checkpoint(run.checkpoint("latest"))
    assert state["step"] == 120 and state["vocab"] and "rnn.weight_hh_l0" in state["model"]
    assert run.checkpoint("best").exists()
    assert any(isinstance(e, ev.EvalResult) for e in events)


def test_hidden_state_carried_and_reset_on_wrap():
    data = torch.arange(8 * 41, dtype=torch.int64).to(torch.int32)
    s = Streams(data, batch_size=8, seq_len=10, device=torch.device("cpu"))
    assert s.chunks_per_epoch == 4
    x0, y0 = s.batch(0)
    x1, _ = s.batch(1)
    assert torch.equal(x1[:, 0], y0[:, -1])  # consecutive chunks continue each stream
    assert torch.equal(x0[1], torch.arange(41, 51))  # stream b starts at b * length
    assert s.position(4) == (1, 0) and s.position(9) == (2, 1)


def test_learning_rate_is_a_function_of_the_step_alone():
    lrs = [learning_rate(s, 1e-3, 10, 0.5, 100) for s in range(300)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[150] == pytest.approx(5e-4) and lrs[250] == pytest.approx(2.5e-4)


@DEFERRED
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(small_corpus, defer):
    dropout = {"dropout": 0.2, "layers": 2}  # exercises the RNG state too
    _, full_events, _full_run = train(small_corpus, name="full", max_steps=40, defer=defer, **dropout)
    _, _, part_run = train(small_corpus, name="part", max_steps=20, defer=defer, **dropout)
    result, resumed_events, _ = train(None, resume="part", max_steps=40, defer=defer)
    assert result.step == 40
    full = {s: v for s, v in losses(full_events)}
    resumed = dict(losses(resumed_events))
    assert sorted(resumed) == list(range(21, 41))
    for step in range(21, 41):
        assert abs(full[step] - resumed[step]) < 1e-6, step
    rows = part_run.read_metrics()
    assert [r["step"] for r in rows] == list(range(1, 41))  # metrics.jsonl goes on where it stopped


@DEFERRED
def test_nan_skips_then_rolls_back_halves_lr_and_finally_stops(small_corpus, defer):
    def hook(trainer):
        def poison(step):
            if step >= 5:
                with torch.no_grad():
                    trainer.model.head.bias.fill_(float("nan"))

        return poison

    result, events, run = train(small_corpus, max_steps=50, hook=hook, defer=defer, report_interval=0.0)
    notices = [e.message for e in events if isinstance(e, ev.Notice)]
    assert any("not finite" in n and "skipped" in n for n in notices)
    rollbacks = [n for n in notices if "rolled back" in n]
    assert len(rollbacks) == 3 and "halved" in rollbacks[0]
    assert isinstance(result, ev.Failed) and "--lr" in result.advice
    curve = [v for _, v in losses(events)]
    assert all(math.isfinite(v) for v in curve)  # the chart is never polluted
    state = load_checkpoint(run.checkpoint("latest"))
    assert all(torch.isfinite(t).all() for t in state["model"].values())


@DEFERRED
def test_absurd_learning_rate_never_crashes(small_corpus, defer):
    result, events, run = train(
        small_corpus, max_steps=40, lr=10.0, grad_clip=1e9, warmup_steps=0, cell="rnn", defer=defer
    )  # the largest --lr allowed
    # The trainer turns any exception into Failed, so "it returned" proves nothing: it must either
    # finish or stop as a divergence, with advice, no traceback logged, and a finite checkpoint.
    if isinstance(result, ev.Failed):
        assert "diverged" in result.message and "--lr" in result.advice, result.message
        assert result.log_path is None and not (run.path / "error.log").exists()
    else:
        assert isinstance(result, ev.Finished) and result.step == 40
    assert all(math.isfinite(v) for _, v in losses(events))
    state = load_checkpoint(run.checkpoint("latest"))
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_out_of_memory_is_reported_with_advice_and_the_run_saved(small_corpus):
    def hook(trainer):
        def boom(step):
            if step == 7:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

        return boom

    result, _, run = train(small_corpus, max_steps=30, hook=hook)
    assert isinstance(result, ev.Failed) and "out of memory" in result.message
    assert "--batch-size" in result.advice and "--hidden-size" in result.advice
    assert load_checkpoint(run.checkpoint("latest"))["step"] == 7


def test_unexpected_exception_is_logged_and_reported(small_corpus):
    def hook(trainer):
        def boom(step):
            if step == 3:
                raise ValueError("something odd")

        return boom

    result, _, _run = train(small_corpus, max_steps=30, hook=hook)
    assert isinstance(result, ev.Failed) and "something odd" in result.message
    assert result.log_path and "ValueError" in Path(result.log_path).read_text()
    assert result.checkpoint and load_checkpoint(result.checkpoint)["step"] == 3


def test_pause_resume_stop_through_the_command_queue(small_corpus):
    commands = queue.Queue()

    def hook(trainer):
        def on_step(step):
            if step == 5:
                commands.put(cmd.Pause())
                threading.Timer(0.5, lambda: commands.put(cmd.Resume())).start()
            if step == 8:
                commands.put(cmd.Save())
                commands.put(cmd.Stop())

        return on_step

    started = time.monotonic()
    result, events, _run = train(small_corpus, max_steps=1000, commands=commands, hook=hook)
    assert time.monotonic() - started >= 0.5
    states = [e.state for e in events if isinstance(e, ev.StateChanged)]
    assert states == ["paused", "running"]
    assert result.reason == "stopped" and result.step in (9, 10)
    assert any(isinstance(e, ev.Saved) and e.reason == "request" for e in events)


def test_stop_request_from_another_thread_saves(small_corpus):
    def hook(trainer):
        def on_step(step):
            if step == 4:
                trainer.request_stop("signal SIGTERM")

        return on_step

    result, _, run = train(small_corpus, max_steps=1000, hook=hook)
    assert result.reason == "signal SIGTERM"
    assert load_checkpoint(run.checkpoint("latest"))["step"] == 5


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_other_cells_train(small_corpus, cell):
    result, events, _ = train(small_corpus, max_steps=30, cell=cell, lr=5e-3)
    curve = [v for _, v in losses(events)]
    assert result.step == 30 and curve[-1] < curve[0]


def test_bf16_autocast_trains(small_corpus):
    result, events, _ = train(small_corpus, max_steps=20, precision="bf16")
    started = next(e for e in events if isinstance(e, ev.Started))
    assert started.precision == "bf16" and result.step == 20


@DEFERRED
def test_the_gpu_step_never_reads_the_device_between_reports(small_corpus, monkeypatch, defer):
    """Every Tensor -> Python read waits for a GPU. With deferred checks a step makes none: the finite
    check, the loss and the norm are read back once per report. Checked each step: one read or more."""
    window = {"on": False, "reads": 0}

    def counted(method):
        def wrapper(self, *args, **kwargs):
            if window["on"]:
                window["reads"] += 1
            return method(self, *args, **kwargs)

        return wrapper

    for name in ("__bool__", "__float__", "__int__", "item", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, counted(getattr(torch.Tensor, name)))

    def hook(trainer):
        def mark(step):
            window["on"] = 5 <= step < 25

        return mark

    result, events, _ = train(
        small_corpus,
        max_steps=40,
        hook=hook,
        defer=defer,
        report_interval=1e9,
        log_every=7,
        eval_every=1000,
        sample_every=0,
        save_every=0,
    )
    assert isinstance(result, ev.Finished) and result.step == 40
    assert len(losses(events)) == 40  # every loss still reported, all at the end
    if defer:
        assert window["reads"] == 0
    else:
        assert window["reads"] >= 20


def test_a_stop_during_a_long_evaluation_is_honoured_at_once(small_corpus, monkeypatch):
    """A stop waited 79 s for a long evaluation to end; the evaluation now checks between chunks."""
    import threading
    import time

    from rnn_tui.core import trainer as trainer_mod

    real = trainer_mod.Trainer.evaluate
    calls = []

    def evaluate(self):
        calls.append(time.monotonic())
        if len(calls) == 2:  # the second evaluation: a stop arrives while it runs
            threading.Timer(0.05, self.request_stop, args=("test",)).start()
            time.sleep(0.2)
        return real(self)

    monkeypatch.setattr(trainer_mod.Trainer, "evaluate", evaluate)
    started = time.monotonic()
    result, events, run = train(small_corpus, max_steps=10**6, eval_every=5, eval_chars=10**7)
    assert isinstance(result, ev.Finished) and result.reason == "test"
    evaluated = [e.step for e in events if isinstance(e, ev.EvalResult)]
    assert evaluated == [5]  # the stopped evaluation scores nothing (half a text is not a score)
    assert time.monotonic() - started < 60 and run.checkpoint("latest").is_file()

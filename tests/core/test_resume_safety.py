"""Nothing of a run is lost: saves safe at every instant, resumes from the newest complete
checkpoint, best.pt never worse, metrics never cut but past the step resumed from, a full disk
or a refused trainer never damages what is there, and resume is exact with live sampling on."""

import errno
import os
import queue
import random
import shutil
import threading
import time

import pytest
import torch

from rnn_tui.core import events as ev
from rnn_tui.core.checkpoint import load_checkpoint, newest_checkpoint, peek_checkpoint, save_checkpoint
from rnn_tui.core.errors import CheckpointError, RunError
from rnn_tui.core.runs import Run, RunLock
from rnn_tui.core.session import prepare
from rnn_tui.core.trainer import Trainer
from tests.conftest import tiny_config


def start(corpus, name="r", resume=None, **changes):
    """A prepared run (a new one, or a resume with ``changes`` as the only flags given)."""
    overrides = (
        changes if resume else tiny_config(**{"threads": 1, **changes}).to_dict()
    )  # one thread: steady on a busy CPU
    return prepare(str(corpus) if corpus else None, overrides, name=None if resume else name, resume=resume)


def train(corpus=None, name="r", resume=None, hook=None, report_interval=0.25, **changes):
    prepared = start(corpus, name, resume, **changes)
    trainer = Trainer(
        prepared.config,
        prepared.corpus,
        prepared.run,
        resume=prepared.resume,
        notes=tuple(prepared.notes),
        report_interval=report_interval,
    )
    if hook:
        trainer.step_hook = hook(trainer)
    events = []
    try:
        result = trainer.run(events.append, queue.Queue())
    finally:
        prepared.lock.release()
    return result, events, prepared.run, trainer


def files(folder, but=()):
    """Every file's bytes and mtime: what "nothing was touched" compares."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in but
    }


def notes(events):
    return next(e for e in events if isinstance(e, ev.Started)).notes


def rewrite(path, source, **changes):
    """Save a copy of checkpoint ``source`` with some values changed (e.g. another step)."""
    state = load_checkpoint(source)
    state.update(changes)
    save_checkpoint({k: v for k, v in state.items() if k not in ("format", "format_version")}, path)


# ---- item 4: best saves never starve autosaves ---------------------------------------------------


def test_best_saves_do_not_reset_the_autosave_clock(small_corpus):
    seen = {}

    def hook(trainer):
        def on_step(step):
            trainer.best_val = None  # every evaluation is a new best: a best save at every step
            time.sleep(0.02)  # and every step outlasts --save-every
            if step == 15:
                seen["latest"] = peek_checkpoint(trainer.run_.checkpoint("latest"))

        return on_step

    train(small_corpus, max_steps=16, eval_every=1, eval_chars=256, save_every=0.01, hook=hook)
    assert seen["latest"] is not None and seen["latest"]["step"] >= 13


# ---- item 5: best.pt only gets better; history cut only past the step resumed from -------------


def test_best_never_gets_worse_across_a_resume(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=20, eval_every=10)
    rewrite(
        run.checkpoint("best"), run.checkpoint("best"), best_val_loss=0.01, step=20
    )  # better than any it will reach
    best_bytes = run.checkpoint("best").read_bytes()
    result, events, _, trainer = train(resume="r", max_steps=40)
    assert result.step == 40 and trainer.best_val == 0.01
    assert run.checkpoint("best").read_bytes() == best_bytes
    assert not any(isinstance(e, ev.Saved) and e.kind == "best" for e in events)


def test_a_resume_never_goes_back_past_newer_checkpoints_or_cuts_their_history(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=40, eval_every=20)
    steps = [r["step"] for r in run.read_metrics()]
    best = peek_checkpoint(run.checkpoint("best"))
    rewrite(run.checkpoint("latest"), run.checkpoint("latest"), step=0)  # an old latest.pt, as in a starved run
    _, events, _, _ = train(resume="r", max_steps=45)
    assert "resumed r at step 40" in notes(events)[0] and "best.pt" in notes(events)[0]
    assert [r["step"] for r in run.read_metrics()] == steps + [41, 42, 43, 44, 45]
    after = peek_checkpoint(run.checkpoint("best"))
    assert after["step"] >= 40 and after["best_val_loss"] <= best["best_val_loss"]


def test_metrics_are_trimmed_only_past_the_step_resumed_from_and_bad_lines_in_the_history_survive(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=10)
    lines = run.metrics_path.read_text().splitlines(keepends=True)
    lines.insert(5, "[1,2,3]\n")  # a damaged line inside the history: what it held cannot be known, it stays
    # after the last saved step: rows a killed run logged, damaged lines, a cut row: the dead run's tail
    lines.append('{"step":11,"lr":0.1}\n{"step":"abc"}\n{"step":1e999}\n{"step":12,"lr":0.1}\n[4,5]\n{"step":13,"l')
    run.metrics_path.write_text("".join(lines))
    _, events, _, _ = train(resume="r", max_steps=12)
    # the go-back is said, not silent: rows to step 12 were logged after the step-10 checkpoint
    assert any("ran to step 12: the 2 steps after step 10 were never saved" in n for n in notes(events))
    text = run.metrics_path.read_text()
    assert "[1,2,3]\n" in text and text.endswith("\n")
    assert "abc" not in text and "1e999" not in text and "[4,5]" not in text
    assert [r["step"] for r in run.read_metrics()] == list(range(1, 13))


def test_the_final_evaluation_amends_the_last_row_instead_of_adding_a_second(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=25, eval_every=20, report_interval=0)  # every row written at once
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == list(range(1, 26))
    assert "val_loss" in rows[-1] and "train_loss" in rows[-1]


def test_truncate_metrics_writes_nothing_when_nothing_changes(tmp_path):
    run = Run(tmp_path)
    run.append_metrics([{"step": s} for s in (1, 2, 3)])
    before = files(tmp_path)
    run.truncate_metrics(3)
    assert files(tmp_path) == before
    run.truncate_metrics(1)
    assert [r["step"] for r in run.read_metrics()] == [1]


# ---- item 6: nothing written before the lock is held ----------------------------------------------


def test_a_refused_second_trainer_touches_nothing(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=10)
    with open(run.metrics_path, "a") as fh:
        fh.write('{"step":11,"lr":0.1}\n')  # a row past latest.pt: a resume would drop it; a refusal must not
    holder = RunLock(run.path).acquire()  # a live trainer
    before = files(run.path)
    try:
        with pytest.raises(RunError, match=f"PID {os.getpid()}"):
            start(None, resume="r", max_steps=20)
    finally:
        holder.release()
    assert files(run.path) == before


# ---- item 7: a save sequence safe at every instant; resume from the newest complete checkpoint --


def _state(step, fill=0.0):
    return {
        "config": {"cell": "lstm"},
        "vocab": "ab",
        "model": {"w": torch.full((2000,), fill)},
        "step": step,
        "best_val_loss": None,
    }


def test_a_crash_at_any_instant_of_a_save_leaves_a_newest_complete_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(_state(5), tmp_path / "previous.pt")
    save_checkpoint(_state(10), tmp_path / "latest.pt")
    snapshots = []

    def snapshot(real):
        def wrapped(*args, **kwargs):  # the folder as a kill -9 just before this step would leave it
            copy = tmp_path.parent / f"crash-{len(snapshots)}"
            shutil.copytree(tmp_path, copy)
            snapshots.append(copy)
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(os, "replace", snapshot(os.replace))
    monkeypatch.setattr(os, "link", snapshot(os.link))
    save_checkpoint(_state(11, 1.0), tmp_path / "latest.pt", keep_previous=True)
    monkeypatch.undo()
    assert len(snapshots) == 3  # link as previous, previous in place, new latest in place
    half = snapshots[0] / "crash-half"  # and a kill while the new file was being written
    shutil.copytree(snapshots[0], half)
    orphan = next(p for p in half.iterdir() if p.name.startswith(".latest.pt.tmp-"))
    orphan.write_bytes(orphan.read_bytes()[:1000])
    for folder in [*snapshots, half, tmp_path]:
        assert any(load_checkpoint(folder / n) for n in ("latest.pt",) if (folder / n).exists())  # always whole
        _, state = newest_checkpoint(folder)
        assert state["step"] in (10, 11), folder
    assert load_checkpoint(tmp_path / "previous.pt")["step"] == 10
    assert newest_checkpoint(snapshots[0])[1]["step"] == 11  # the complete orphan is newer than latest.pt


def test_previous_is_never_replaced_by_an_older_state(tmp_path):
    save_checkpoint(_state(60), tmp_path / "previous.pt")
    save_checkpoint(_state(30), tmp_path / "latest.pt")
    save_checkpoint(_state(31), tmp_path / "latest.pt", keep_previous=True)
    assert load_checkpoint(tmp_path / "previous.pt")["step"] == 60
    save_checkpoint(_state(61), tmp_path / "latest.pt", keep_previous=True)
    save_checkpoint(_state(62), tmp_path / "latest.pt", keep_previous=True)
    assert load_checkpoint(tmp_path / "previous.pt")["step"] == 61


def test_resume_takes_the_newest_complete_checkpoint_and_cleans_stale_temps(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=20)
    latest = run.checkpoint("latest")
    rewrite(run.checkpoint("previous"), latest, step=60)
    rewrite(run.checkpoint("best"), latest, step=40, best_val_loss=9.0)
    orphan = run.path / ".latest.pt.tmp-999999"
    rewrite(orphan, latest, step=70)
    orphan.write_bytes(orphan.read_bytes()[:-100])  # cut short by the crash: not complete, not chosen
    stale = run.path / ".config.json.tmp-999998"
    stale.write_text("{")
    latest.write_bytes(latest.read_bytes()[:500])  # and latest.pt itself damaged
    result, events, _, _ = train(resume="r", max_steps=62)
    assert "resumed r at step 60 (from previous.pt" in notes(events)[0]
    assert result.step == 62 and load_checkpoint(latest)["step"] == 62
    assert load_checkpoint(run.checkpoint("previous"))["step"] == 60  # not overwritten with the damaged latest
    assert not orphan.exists() and not stale.exists()


def test_a_complete_orphan_newer_than_latest_is_resumed(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=20)
    rewrite(run.path / ".latest.pt.tmp-999997", run.checkpoint("latest"), step=25)
    result, events, _, _ = train(resume="r", max_steps=26)
    assert "at step 25" in notes(events)[0] and result.step == 26
    assert not (run.path / ".latest.pt.tmp-999997").exists()


# ---- item 8: compatibility checked before anything is written -----------------------------------


def test_an_optimizer_state_that_does_not_fit_is_refused_before_anything_is_written(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=10)
    state = load_checkpoint(run.checkpoint("latest"))
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(3, 3)
    for name in ("latest.pt", "previous.pt", "best.pt"):
        (run.path / name).unlink(missing_ok=True)
    save_checkpoint({k: v for k, v in state.items() if k not in ("format", "format_version")}, run.checkpoint("latest"))
    before = files(run.path, but=("lock",))  # the lock file holds the PID of whoever holds it
    with pytest.raises(CheckpointError, match="optimizer state does not fit") as info:
        start(None, resume="r", max_steps=20)
    assert "\n" not in str(info.value)
    assert files(run.path, but=("lock",)) == before


def test_a_changed_batch_size_resumes_from_a_blank_carried_state(small_corpus):
    train(small_corpus, max_steps=10, batch_size=8)
    result, events, _, trainer = train(resume="r", max_steps=15, batch_size=4)
    assert isinstance(result, ev.Finished) and result.step == 15
    assert any("--batch-size 4 (the checkpoint's was 8)" in n for n in notes(events))
    assert tuple(trainer.state[0].shape) == (1, 4, 32)


def test_a_restore_that_fails_writes_nothing(small_corpus, monkeypatch):
    _, _, run, _ = train(small_corpus, max_steps=10)
    before = files(run.path, but=("lock",))

    def broken(self, state):
        raise RuntimeError("Expected hidden[0] size (1, 4, 32), got [1, 8, 32]")

    monkeypatch.setattr(Trainer, "_restore", broken)
    result, _, _, _ = train(resume="r", max_steps=20)
    assert isinstance(result, ev.Failed) and result.checkpoint == str(run.checkpoint("latest"))
    assert files(run.path, but=("lock", "error.log")) == before  # the traceback is logged; nothing else changes


# ---- item 9: resume is exact with live sampling on ----------------------------------------------

EXACT = {"threads": 1, "layers": 2, "dropout": 0.3, "sample_every": 0.001, "sample_length": 20}


def _consume_snapshots(trainer, stop):
    """What the app does meanwhile: sample, trace and measure gradient flow from snapshots."""
    from rnn_tui.core.config import SampleConfig
    from rnn_tui.core.gradflow import gradient_flow_for
    from rnn_tui.core.model import build_from_weights
    from rnn_tui.core.sampling import generate

    while not stop.is_set():
        snap = trainer.latest_snapshot
        if snap is None:
            continue
        model = build_from_weights(snap.config, snap.vocab, snap.weights)
        list(generate(model, trainer.corpus.vocab, SampleConfig(prime="a", length=10, seed=None)))
        gradient_flow_for(snap.config, snap.vocab, snap.weights, trainer.corpus.val[:20].long())


def _weights(run, kind="latest"):
    return load_checkpoint(run.checkpoint(kind))["model"]


def _sample_at_random(seed):
    """A step hook: live samples at random steps, and the app's snapshot work in another thread."""
    rng = random.Random(seed)

    def hook(trainer):
        stop = threading.Event()
        threading.Thread(target=_consume_snapshots, args=(trainer, stop), daemon=True).start()

        def on_step(step):
            if rng.random() < 0.4:
                trainer.live_sample(trainer.snapshot())
            if step >= trainer.config.max_steps - 1:
                stop.set()

        return on_step

    return hook


def test_live_sampling_and_the_app_never_move_the_training_rng(small_corpus):
    _, _, quiet, _ = train(small_corpus, name="quiet", max_steps=30, **{**EXACT, "sample_every": 0})
    _, _, busy, _ = train(small_corpus, name="busy", max_steps=30, hook=_sample_at_random(7), **EXACT)
    a, b = _weights(quiet), _weights(busy)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_n_steps_and_a_resume_for_n_more_equal_2n_steps_exactly(small_corpus):
    _, _, whole, _ = train(small_corpus, name="whole", max_steps=30, hook=_sample_at_random(1), **EXACT)
    _, _, halves, _ = train(small_corpus, name="halves", max_steps=15, hook=_sample_at_random(2), **EXACT)
    train(resume="halves", max_steps=30, hook=_sample_at_random(3))
    a, b = _weights(whole), _weights(halves)
    assert all(torch.equal(a[k], b[k]) for k in a)


# ---- item 10: a full disk ---------------------------------------------------------------------------


class _FillingFile:
    """A file on a disk that fills up after ``room`` bytes."""

    def __init__(self, path, room):
        self.fh, self.room = open(path, "wb"), room  # noqa: SIM115 - closed by __exit__

    def write(self, data):
        if len(data) > self.room:
            self.fh.write(bytes(data[: self.room]))
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_a_full_disk_mid_save_keeps_the_last_checkpoint_and_says_enospc(tmp_path, monkeypatch):
    from rnn_tui.core import files

    save_checkpoint(_state(1), tmp_path / "latest.pt")
    save_checkpoint(_state(0), tmp_path / "previous.pt")
    monkeypatch.setattr(files, "create_file", lambda path: _FillingFile(path, 3000))
    with pytest.raises(OSError) as info:  # torch's writer would say RuntimeError "unexpected pos"
        save_checkpoint(_state(2), tmp_path / "latest.pt", keep_previous=True)
    assert info.value.errno == errno.ENOSPC
    assert load_checkpoint(tmp_path / "latest.pt")["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pt", "previous.pt"]


def test_a_full_disk_pauses_saving_then_it_retries_and_training_never_crashes(small_corpus, monkeypatch):
    from rnn_tui.core import files as runs
    from rnn_tui.core import trainer as trainer_mod

    monkeypatch.setattr(trainer_mod, "SAVE_RETRY_S", 0.05)
    real_create = runs.create_file
    seen = {}

    def hook(trainer):
        def on_step(step):
            time.sleep(0.01)
            if step == 5:
                seen["good"] = load_checkpoint(trainer.run_.checkpoint("latest"))["step"]
                runs.create_file = lambda path: _FillingFile(path, 2000)
            if step == 25:
                seen["during"] = load_checkpoint(trainer.run_.checkpoint("latest"))["step"]
                runs.create_file = real_create

        return on_step

    try:
        result, events, run, _ = train(
            small_corpus, max_steps=30, save_every=0.02, eval_every=5, eval_chars=256, hook=hook
        )
    finally:
        runs.create_file = real_create
    warnings = [e.message for e in events if isinstance(e, ev.Notice)]
    assert isinstance(result, ev.Finished) and result.step == 30
    assert any("No space left on device" in w and "saving paused" in w for w in warnings)
    assert any("saving works again" in w for w in warnings)
    assert seen["during"] == seen["good"]  # untouched while the disk was full
    assert load_checkpoint(run.checkpoint("latest"))["step"] == 30
    assert not [p for p in run.path.iterdir() if ".tmp-" in p.name]


def test_metrics_rows_are_appended_whole_or_not_at_all(tmp_path, monkeypatch):
    run = Run(tmp_path)
    run.append_metrics([{"step": 1}])
    real_write = os.write

    def short_then_full(fd, data):
        if len(data) > 5:
            real_write(fd, bytes(data[:5]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", short_then_full)
        with pytest.raises(OSError):
            run.append_metrics([{"step": 2, "train_loss": 1.5}])
    assert run.metrics_path.read_text() == '{"step":1}\n'


# ---- items 12 and 14: setup errors, and a corpus path that outlives the working directory ------


def test_a_damaged_metrics_line_does_not_stop_a_resume(small_corpus):
    _, _, run, _ = train(small_corpus, max_steps=5)
    with open(run.metrics_path, "a") as fh:
        fh.write("[1,2,3]\n")
    result, _, _, _ = train(resume="r", max_steps=8)
    assert result.step == 8


def test_a_relative_corpus_path_is_stored_absolute(small_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(small_corpus.parent)
    _, _, run, _ = train(small_corpus.name, max_steps=3)
    stored = run.read_config()["corpus"]["path"]
    assert os.path.isabs(stored) and stored == str(small_corpus)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result, _, _, _ = train(resume="r", max_steps=5)
    assert result.step == 5

import os
import subprocess
import sys

import pytest
import torch

from rnn_tui.core.errors import CheckpointError, RunError
from rnn_tui.core.runs import FORMAT, Run, RunLock, load_checkpoint, save_checkpoint
from tests.conftest import REPO
from tests.core.helpers import train


class Evil:
    """Unpickling this would create a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_checkpoint_round_trip(tmp_path):
    state = {"config": {"cell": "lstm"}, "vocab": "ab", "model": {"w": torch.randn(3, 3)}, "step": 7,
             "hidden": [torch.zeros(1, 2, 3)], "best_val_loss": None}
    save_checkpoint(state, tmp_path / "latest.pt")
    back = load_checkpoint(tmp_path / "latest.pt")
    assert back["step"] == 7 and torch.equal(back["model"]["w"], state["model"]["w"]) and back["format"] == FORMAT


def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "format_version": 1, "config": {}, "vocab": "a", "model": Evil(str(target))}, path)
    assert not target.exists()
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not target.exists()


def test_truncated_checkpoint_names_the_intact_one(tmp_path):
    good = {"config": {}, "vocab": "ab", "model": {"w": torch.ones(100)}}
    save_checkpoint(good, tmp_path / "latest.pt")
    save_checkpoint(good, tmp_path / "latest.pt", keep_previous=True)
    data = (tmp_path / "latest.pt").read_bytes()
    (tmp_path / "latest.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "latest.pt")
    assert "corrupt or truncated" in str(info.value) and "previous.pt" in str(info.value)
    assert load_checkpoint(tmp_path / "previous.pt")["vocab"] == "ab"


def test_garbage_other_program_and_newer_version(tmp_path):
    for attempt in range(20):  # random bytes fail in many ways inside the unpickler: every one is a clear refusal
        (tmp_path / "junk.pt").write_bytes(os.urandom(1000))
        with pytest.raises(CheckpointError, match="corrupt|refused"):
            load_checkpoint(tmp_path / "junk.pt")
    torch.save({"state_dict": {"w": torch.ones(2)}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an rnn-tui checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    torch.save({"format": FORMAT, "format_version": 99, "config": {}, "vocab": "", "model": {}}, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="version 99.*version 1"):
        load_checkpoint(tmp_path / "new.pt")


def test_a_kill_in_the_middle_of_a_save_leaves_the_last_checkpoint_whole(tmp_path):
    save_checkpoint({"config": {}, "vocab": "ab", "model": {"w": torch.zeros(10)}, "step": 1}, tmp_path / "latest.pt")
    script = f"""
import os, sys, torch
sys.path.insert(0, {str(REPO)!r})
import rnn_tui.core.runs as runs
real_save = torch.save
def dying_save(obj, fh, *a, **k):
    fh.write(b"PK\\x03\\x04partial-bytes" * 1000)
    fh.flush()
    os._exit(9)
runs.torch.save = dying_save
runs.save_checkpoint({{"config": {{}}, "vocab": "ab", "model": {{"w": torch.ones(10)}}, "step": 2}}, runs.Path({str(tmp_path / 'latest.pt')!r}), keep_previous=True)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == 9
    state = load_checkpoint(tmp_path / "latest.pt")
    assert state["step"] == 1


def test_disk_full_during_save_cleans_up_and_keeps_the_old_file(tmp_path, monkeypatch):
    save_checkpoint({"config": {}, "vocab": "ab", "model": {}, "step": 1}, tmp_path / "latest.pt")

    def full(obj, fh, *a, **k):
        fh.write(b"x" * 10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError):
        save_checkpoint({"config": {}, "vocab": "ab", "model": {}, "step": 2}, tmp_path / "latest.pt", keep_previous=True)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "latest.pt")["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


def test_save_failure_during_training_is_a_warning_not_a_crash(small_corpus, monkeypatch):
    import rnn_tui.core.trainer as trainer_mod
    from rnn_tui.core import events as ev

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trainer_mod, "save_checkpoint", full)
    result, events, _ = train(small_corpus, max_steps=25)
    assert isinstance(result, ev.Finished) and result.step == 25
    assert any(isinstance(e, ev.Notice) and "No space left" in e.message for e in events)


def test_second_process_on_the_same_run_is_refused_with_the_pid(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time; sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from rnn_tui.core.runs import RunLock
lock = RunLock(Path({str(run_dir)!r})).acquire(); print("locked", flush=True); time.sleep(30)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=f"PID {holder.pid}"):
            RunLock(run_dir).acquire()
    finally:
        holder.kill()
        holder.wait()
    RunLock(run_dir).acquire().release()  # the OS dropped the lock with the process


def test_unwritable_runs_folder_is_refused_before_training(small_corpus, tmp_path, monkeypatch):
    from rnn_tui.core.session import prepare

    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(RunError, match="cannot write"):
        prepare(str(small_corpus), {"max_steps": 1}, runs_dir=str(blocker / "runs"))


def test_resume_refuses_a_changed_corpus_unless_told(small_corpus):
    from rnn_tui.core.session import prepare

    train(small_corpus, name="r1", max_steps=3)
    with open(small_corpus, "a") as fh:
        fh.write("more text at the end\n")
    with pytest.raises(RunError, match="--allow-corpus-change"):
        prepare(str(small_corpus), {}, resume="r1")
    prepared = prepare(str(small_corpus), {}, resume="r1", allow_corpus_change=True)
    prepared.lock.release()


def test_resume_refuses_new_vocabulary_and_other_architecture(small_corpus, tmp_path):
    from rnn_tui.core.session import prepare

    train(small_corpus, name="r2", max_steps=3)
    with pytest.raises(RunError, match="--hidden-size 64 \\(checkpoint: 32\\)"):
        prepare(None, {"hidden_size": 64}, resume="r2")
    other = tmp_path / "other.txt"
    other.write_text(small_corpus.read_text() + "ÆØÅ")
    with pytest.raises(RunError, match="vocabulary differs"):
        prepare(str(other), {}, resume="r2", allow_corpus_change=True)


def test_run_summary(small_corpus):
    _, _, run = train(small_corpus, name="sum", max_steps=21)
    s = Run(run.path).summary()
    assert s["steps"] == 21 and s["cell"] == "lstm" and s["size"] == "1x32" and s["best_val_loss"] is not None


def test_a_run_name_wins_over_a_same_named_folder_in_the_working_directory(small_corpus, tmp_path, monkeypatch):
    from rnn_tui.core.paths import runs_dir
    from rnn_tui.core.runs import resolve_run

    _, _, run = train(small_corpus, name="same", max_steps=2)
    elsewhere = tmp_path / "cwd"
    (elsewhere / "same").mkdir(parents=True)  # an unrelated folder that happens to share the name
    monkeypatch.chdir(elsewhere)
    found, path = resolve_run("same", runs_dir())
    assert found.path == run.path and path == run.checkpoint("latest")
    with pytest.raises(RunError, match="no such run"):
        resolve_run("missing", runs_dir())

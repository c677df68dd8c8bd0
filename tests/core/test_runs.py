import os
import subprocess
import sys

import pytest
import torch

from rnn_tui.core.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from rnn_tui.core.errors import CheckpointError, RunError
from rnn_tui.core.runs import Run, RunLock
from tests.conftest import REPO
from tests.core.helpers import train


class Evil:
    """Unpickling this would create a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_checkpoint_round_trip(tmp_path):
    state = {
        "config": {"cell": "lstm"},
        "vocab": "ab",
        "model": {"w": torch.randn(3, 3)},
        "step": 7,
        "hidden": [torch.zeros(1, 2, 3)],
        "best_val_loss": None,
    }
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
    for _attempt in range(20):  # random bytes fail in many ways inside the unpickler: every one is a clear refusal
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
import rnn_tui.core.checkpoint as runs
real_save = torch.save
def dying_save(obj, fh, *a, **k):
    fh.write(b"PK\\x03\\x04partial-bytes" * 1000)
    fh.flush()
    os._exit(9)
runs.torch.save = dying_save
runs.save_checkpoint({{"config": {{}}, "vocab": "ab", "model": {{"w": torch.ones(10)}}, "step": 2}},
                     runs.Path({str(tmp_path / "latest.pt")!r}), keep_previous=True)
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
        save_checkpoint(
            {"config": {}, "vocab": "ab", "model": {}, "step": 2}, tmp_path / "latest.pt", keep_previous=True
        )
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
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import sys, time; sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from rnn_tui.core.runs import RunLock
lock = RunLock(Path({str(run_dir)!r})).acquire(); print("locked", flush=True); time.sleep(30)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
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


# ---- what is a run, and deleting only runs -------------------------------------------------------


def _project(tmp_path):
    """A user's project folder that happens to look a little like a run."""
    proj = tmp_path / "proj3"
    (proj / "src").mkdir(parents=True)
    (proj / "config.json").write_text('{"train": {}, "corpus": {}}')
    (proj / "src" / "main.py").write_text("print('hi')\n")
    (proj / "r").write_text("a file named r\n")
    (proj / "metrics.jsonl").write_text('{"step": 1}\n')
    return proj


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_new_runs_carry_the_marker_and_a_project_folder_is_never_deleted(small_corpus, tmp_path, monkeypatch):
    import json

    from rnn_tui.core.paths import runs_dir
    from rnn_tui.core.runs import delete_run, find_run, run_evidence

    _, _, run = train(small_corpus, name="r", max_steps=3)
    assert json.loads((run.path / "run.json").read_text())["format"] == "rnn-tui-run"
    assert run_evidence(run.path) == "marker"
    proj = _project(tmp_path)
    before = _tree(proj)
    assert run_evidence(proj) is None  # our config keys and a metrics file, but no marker and no checkpoint
    monkeypatch.chdir(proj)
    assert find_run("r", runs_dir()).path == run.path  # a bare name means the runs folder, never ./r
    for ref in ("./r", str(proj / "r"), ".", str(proj)):
        with pytest.raises(RunError):
            delete_run(find_run(ref, runs_dir()))
    with pytest.raises(RunError, match="not provably"):
        delete_run(Run(proj))
    assert _tree(proj) == before and run.path.is_dir()


def test_delete_removes_only_the_files_rnn_tui_wrote(small_corpus):
    from rnn_tui.core.runs import delete_run

    _, _, run = train(small_corpus, name="d", max_steps=3)
    (run.path / "notes.txt").write_text("mine")
    (run.path / "samples").mkdir()
    (run.path / "samples" / "sample-20240101-120000.txt").write_text("generated")
    (run.path / "samples" / "keep.txt").write_text("mine too")
    (run.path / ".latest.pt.tmp-4242").write_bytes(b"partial")
    left = delete_run(run)
    assert left == ["notes.txt", "samples"]
    assert _tree(run.path) == ["notes.txt", "samples", "samples/keep.txt"]
    os.remove(run.path / "notes.txt")
    os.remove(run.path / "samples" / "keep.txt")
    os.rmdir(run.path / "samples")
    _, _, run2 = train(small_corpus, name="d2", max_steps=3)
    assert delete_run(run2) == [] and not run2.path.exists()


def test_a_run_from_before_the_marker_is_known_only_by_its_full_layout(small_corpus, tmp_path):
    from rnn_tui.core.runs import delete_run, run_evidence

    _, _, run = train(small_corpus, name="old", max_steps=3)
    (run.path / "run.json").unlink()
    assert run_evidence(run.path) == "layout"
    for name in ("metrics.jsonl", "latest.pt", "best.pt", "previous.pt"):
        if (run.path / name).exists():
            (run.path / name).unlink()
    assert run_evidence(run.path) is None  # a config.json alone proves nothing
    with pytest.raises(RunError, match="not provably"):
        delete_run(run)
    assert (run.path / "config.json").is_file()


def test_delete_refuses_a_live_run_with_the_pid(small_corpus):
    from rnn_tui.core.runs import delete_run, lock_holder

    _, _, run = train(small_corpus, name="live", max_steps=3)
    lock = RunLock(run.path).acquire()
    try:
        assert lock_holder(run.path) == os.getpid()
        with pytest.raises(RunError, match=f"PID {os.getpid()}.*--force"):
            delete_run(run)
        assert run.checkpoint("latest").is_file()
    finally:
        lock.release()
    assert lock_holder(run.path) is None


def test_looking_at_a_lock_never_takes_it(tmp_path, monkeypatch):
    """`rnn-tui runs` asks who trains each run: on Linux the kernel's list answers, so a trainer starting
    at that instant is never refused because somebody looked."""
    import fcntl

    from rnn_tui.core.runs import lock_holder

    if not os.path.exists("/proc/locks"):
        pytest.skip("no /proc/locks here")
    (tmp_path / "lock").write_text("")
    holder = open(tmp_path / "lock", "a+")  # another open file: flock sees a second holder
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with monkeypatch.context() as m:
            m.setattr(fcntl, "flock", lambda *a: pytest.fail("lock_holder took the lock to look"))
            assert lock_holder(tmp_path) == os.getpid()
        fcntl.flock(holder, fcntl.LOCK_UN)
        with monkeypatch.context() as m:
            m.setattr(fcntl, "flock", lambda *a: pytest.fail("lock_holder took the lock to look"))
            assert lock_holder(tmp_path) is None
    finally:
        holder.close()


def test_a_lock_held_for_an_instant_does_not_refuse_a_trainer(tmp_path):
    import fcntl
    import threading

    (tmp_path / "lock").write_text("")
    probe = open(tmp_path / "lock")
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    threading.Timer(0.15, probe.close).start()  # a look that lets go
    lock = RunLock(tmp_path).acquire()
    lock.release()


def test_delete_in_a_read_only_folder_is_one_line_and_removes_nothing(small_corpus, monkeypatch):
    from rnn_tui.core import runs as runs_mod

    _, _, run = train(small_corpus, name="ro", max_steps=3)
    before = _tree(run.path)
    monkeypatch.setattr(runs_mod.os, "access", lambda *a, **k: False)
    with pytest.raises(RunError, match="read-only; nothing was removed"):
        runs_mod.delete_run(run)
    assert _tree(run.path) == before
    monkeypatch.undo()

    def refuse(self, *a, **k):
        raise OSError(30, "Read-only file system", str(self))

    monkeypatch.setattr(runs_mod.Path, "unlink", refuse)
    with pytest.raises(RunError, match="Read-only file system") as info:
        runs_mod.delete_run(run)
    assert "\n" not in str(info.value) and (run.path / "run.json").is_file()


def test_a_lock_that_is_a_folder_or_a_link_is_one_clear_line(tmp_path):
    (tmp_path / "a" / "lock").mkdir(parents=True)
    with pytest.raises(RunError, match="is a folder"):
        RunLock(tmp_path / "a").acquire()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "lock").symlink_to(victim)
    with pytest.raises(RunError, match="symbolic link"):
        RunLock(tmp_path / "b").acquire()
    assert victim.read_text() == "precious"  # never truncated to hold a PID


def test_a_run_with_no_checkpoint_yet_can_be_found_summarised_and_deleted(small_corpus):
    from rnn_tui.core.paths import runs_dir
    from rnn_tui.core.runs import delete_run, find_run, resolve_run
    from rnn_tui.core.session import prepare
    from tests.core.helpers import overrides

    prepared = prepare(str(small_corpus), overrides(), name="fresh")
    prepared.lock.release()
    run = find_run("fresh", runs_dir())
    assert run.summary()["checkpoints"] == [] and run.summary()["cell"] == "lstm"
    with pytest.raises(RunError, match="no checkpoint yet"):
        resolve_run("fresh", runs_dir())
    assert delete_run(run) == [] and not run.path.exists()


# ---- damaged metrics and configs -----------------------------------------------------------------


def test_bad_metrics_lines_are_skipped_and_counted(tmp_path):
    from rnn_tui.core.runs import list_runs

    run = Run(tmp_path / "m")
    run.path.mkdir()
    (run.path / "config.json").write_text('{"train": {"cell": "gru", "layers": 1, "hidden_size": 8}, "corpus": {}}')
    good = b'{"step": 10, "train_loss": 2.5}\n{"step": 20, "train_loss": 2.0, "val_loss": 2.1}\n'
    bad = b'[1,2,3]\n\xff\xfe\n{"step":"abc"}\n{"lr": 1}\n{"step": 30, "val_loss": "x"}\n'
    run.metrics_path.write_bytes(good + bad + b'{"step": 25, "train_loss": null}\n{"step": 40, "trai')
    rows, skipped = run.read_metrics_counted()
    assert [r["step"] for r in rows] == [10, 20, 25] and skipped == 5  # the cut-short last line is not counted
    assert "train_loss" not in rows[-1]
    summary = run.summary()
    assert summary["steps"] == 25 and summary["best_val_loss"] == 2.1 and "5 bad lines" in summary["problems"][0]
    assert [r.name for r in list_runs(tmp_path)] == ["m"]


@pytest.mark.parametrize("config", ["[]", '{"train": "x"}', "{not json", '{"train": {}}', ""])
def test_a_damaged_config_shows_that_run_as_damaged_and_hides_no_other(tmp_path, config):
    from rnn_tui.core.runs import list_runs

    for name in ("good", "bad"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(
            '{"train": {"cell": "rnn", "layers": 1, "hidden_size": 8}, "corpus": {}}'
        )
        (tmp_path / name / "metrics.jsonl").write_text('{"step": 5, "val_loss": 3.0}\n')
    (tmp_path / "bad" / "config.json").write_text(config)
    summaries = {r.name: r.summary() for r in list_runs(tmp_path)}
    assert summaries["bad"]["damaged"] and summaries["bad"]["steps"] == 5
    assert not summaries["good"]["damaged"] and summaries["good"]["cell"] == "rnn"
    with pytest.raises(RunError, match="config.json is"):
        Run(tmp_path / "bad").read_config()


# ---- naming runs on the command line ----------------------------------------------------------------


def _marked(root, name, when):
    (root / name).mkdir(parents=True)
    (root / name / "run.json").write_text('{"format": "rnn-tui-run", "version": 1}')
    os.utime(root / name / "run.json", (when, when))


def test_a_run_by_unique_prefix_or_last_and_an_ambiguous_prefix_lists_the_candidates(tmp_path):
    from rnn_tui.core.runs import find_run

    _marked(tmp_path, "alpha-1", 1000)
    _marked(tmp_path, "alpha-10", 3000)
    _marked(tmp_path, "beta", 2000)
    assert find_run("b", tmp_path).name == "beta"
    assert find_run("alpha-1", tmp_path).name == "alpha-1"  # an exact name wins over a longer match
    assert find_run("last", tmp_path).name == "alpha-10"
    with pytest.raises(RunError, match="matches 2 runs \\(alpha-10, alpha-1\\)"):
        find_run("alp", tmp_path)
    with pytest.raises(RunError, match="no such run"):
        find_run("gamma", tmp_path)


def test_a_file_in_the_working_directory_never_shadows_a_run(small_corpus, tmp_path, monkeypatch):
    from rnn_tui.core.paths import runs_dir
    from rnn_tui.core.runs import resolve_run

    _, _, run = train(small_corpus, name="r", max_steps=2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r").write_text("not a checkpoint")
    found, path = resolve_run("r", runs_dir())
    assert found.path == run.path and path == run.checkpoint("latest")


def test_new_run_refuses_bad_and_taken_names_before_writing(tmp_path):
    from rnn_tui.core.runs import new_run

    for name in ("../x", ".", "a/b", "x" * 300):
        with pytest.raises(RunError):
            new_run(tmp_path / "runs", name)
    (tmp_path / "runs" / "p").mkdir(parents=True)
    (tmp_path / "runs" / "p" / "main.py").write_text("x")
    with pytest.raises(RunError, match="main.py"):
        new_run(tmp_path / "runs", "p")
    assert _tree(tmp_path) == ["runs", "runs/p", "runs/p/main.py"]


# ---- crafted checkpoints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,message",
    [
        ({"config": [1, 2]}, "config is not a mapping"),
        ({"step": "abc"}, "step is 'abc'"),
        ({"vocab": ["a", "b"]}, "vocabulary"),
        ({"config": {"cell": "lstm", "layers": "2", "hidden_size": 32, "embed_size": 16}}, "layers"),
        ({"model": {"w": "not a tensor"}}, "tensors"),
        ("nan", "weights are not finite"),
    ],
)
def test_crafted_checkpoints_are_refused_in_one_line(small_corpus, change, message):
    from rnn_tui.core.checkpoint import checked_state

    _, _, run = train(small_corpus, name="c", max_steps=2)
    state = load_checkpoint(run.checkpoint("latest"))
    assert checked_state(state, run.checkpoint("latest")) is state
    if change == "nan":
        key = next(iter(state["model"]))
        change = {"model": {**state["model"], key: torch.full_like(state["model"][key], float("nan"))}}
    with pytest.raises(CheckpointError, match=message) as info:
        checked_state({**state, **change}, run.checkpoint("latest"))
    assert "\n" not in str(info.value)


def test_other_checkpoints_are_called_intact_only_when_they_are(tmp_path):
    for name in ("latest.pt", "previous.pt", "best.pt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "latest.pt")
    assert "intact" not in str(info.value)
    save_checkpoint({"config": {}, "vocab": "ab", "model": {}}, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="intact: .*best.pt") as info:
        load_checkpoint(tmp_path / "latest.pt")
    assert "previous.pt" not in str(info.value)


def test_a_latest_past_the_step_being_saved_never_replaces_previous(tmp_path):
    """Resumed from previous.pt (step 85) because latest.pt (95) did not fit: the first save once moved
    that unfit file over the good previous.pt."""
    state = {"config": {}, "vocab": "ab", "model": {"w": torch.ones(2)}}
    save_checkpoint({**state, "step": 85}, tmp_path / "previous.pt")
    save_checkpoint({**state, "step": 95}, tmp_path / "latest.pt")
    save_checkpoint({**state, "step": 86}, tmp_path / "latest.pt", keep_previous=True)
    assert load_checkpoint(tmp_path / "previous.pt")["step"] == 85
    assert load_checkpoint(tmp_path / "latest.pt")["step"] == 86
    save_checkpoint({**state, "step": 90}, tmp_path / "latest.pt", keep_previous=True)  # the usual turn
    assert load_checkpoint(tmp_path / "previous.pt")["step"] == 86


def test_an_absurd_step_is_damage(tmp_path):
    from rnn_tui.core.checkpoint import checked_state, peek_checkpoint
    from rnn_tui.core.config import TrainConfig

    config = TrainConfig().to_dict()
    state = {"format": FORMAT, "step": 10**30, "config": config, "vocab": "ab", "model": {"w": torch.ones(2)}}
    torch.save(state, tmp_path / "x.pt")
    assert peek_checkpoint(tmp_path / "x.pt") is None
    with pytest.raises(CheckpointError, match="step is '1000"):
        checked_state(state, tmp_path / "x.pt")

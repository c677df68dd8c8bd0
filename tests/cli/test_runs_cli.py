"""`rnn-tui runs`, run names and RUN arguments, end to end through the real entry point."""

import json
import os
import subprocess
import time

import pytest
import torch

from tests.cli.test_cli import TINY, assert_clear_error
from tests.conftest import PYTHON, REPO, cli_env
from tests.core.helpers import train


def cli(home, *args, cwd=REPO, env=None, timeout=120, **kw):
    return subprocess.run(
        [PYTHON, "-m", "rnn_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
        env={**cli_env(home), **(env or {})},
        **kw,
    )


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def run_r(small_corpus):
    return train(small_corpus, name="r", max_steps=3)[2]


def test_runs_delete_never_touches_a_project_folder(runs_home, run_r, tmp_path):
    proj = tmp_path / "proj3"
    (proj / "src").mkdir(parents=True)
    (proj / "config.json").write_text('{"name": "my project"}')
    (proj / "src" / "main.py").write_text("print('hi')\n")
    (proj / "r").write_text("a file named r\n")
    (proj / "notes.txt").write_text("notes\n")
    before = tree(proj)
    for ref, needle in [("./r", "is a file"), (".", "not an rnn-tui run"), (str(proj / "notes.txt"), "is a file")]:
        assert_clear_error(cli(runs_home, "runs", "delete", ref, "--yes", cwd=proj), needle)
    assert tree(proj) == before and run_r.checkpoint("latest").is_file()
    gone = cli(runs_home, "runs", "delete", "r", "--yes", cwd=proj)  # a bare name is the run, not ./r
    assert gone.returncode == 0 and gone.stdout.strip() == f"deleted {run_r.path}"
    assert not run_r.path.exists() and tree(proj) == before


@pytest.mark.parametrize(
    "name", ["../../escaped", "/tmp/abs-run", ".", "..", "a/b", "x" * 300, "-x", ".hidden", "a\x1bb"]
)
def test_a_bad_name_is_refused_up_front_and_nothing_is_written(runs_home, small_corpus, tmp_path, name):
    proc = cli(runs_home, str(small_corpus), "--headless", "--max-steps", "1", f"--name={name}", *TINY, cwd=tmp_path)
    assert_clear_error(proc, "--name")
    assert (
        not (runs_home / "runs").exists() and not (tmp_path / "escaped").exists() and not os.path.exists("/tmp/abs-run")
    )


def test_runs_delete_refuses_a_live_run_and_force_stops_it_first(runs_home, small_corpus):
    trainer = subprocess.Popen(
        [PYTHON, "-m", "rnn_tui", str(small_corpus), "--headless", "--name", "live", *TINY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(runs_home),
        cwd=REPO,
    )
    try:
        metrics = runs_home / "runs" / "live" / "metrics.jsonl"
        deadline = time.monotonic() + 60
        while not (metrics.exists() and metrics.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert_clear_error(cli(runs_home, "runs", "delete", "live", "--yes"), f"PID {trainer.pid}", "--force")
        assert metrics.exists()
        assert f"PID {trainer.pid}" in cli(runs_home, "runs", "show", "live").stdout
        forced = cli(runs_home, "runs", "delete", "live", "--yes", "--force")
        assert forced.returncode == 0, forced.stderr
        assert f"stopping PID {trainer.pid}" in forced.stderr
        assert trainer.wait(timeout=10) == 143  # it was stopped (SIGTERM), saved and exited
        assert not (runs_home / "runs" / "live").exists()
    finally:
        trainer.kill()
        trainer.communicate()


def test_one_damaged_run_never_breaks_the_others(runs_home, small_corpus):
    for name in ("m1", "m2", "ok"):
        train(small_corpus, name=name, max_steps=3)
    runs = runs_home / "runs"
    with open(runs / "m1" / "metrics.jsonl", "ab") as fh:
        fh.write(b'[1,2,3]\n\xff\n{"step":"abc"}\n{"lr": 1}\n{"step": 2, "train_loss": null}\n')
    (runs / "m2" / "config.json").write_text("[]")
    listing = cli(runs_home, "runs")
    assert listing.returncode == 0 and "Traceback" not in listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines()[1:]]
    assert sorted(names) == ["m1", "m2", "ok"]
    assert "damaged" in next(line for line in listing.stdout.splitlines() if line.startswith("m2"))
    assert "m2: config.json unreadable" in listing.stderr and "m1: 4 bad lines" in listing.stderr
    show = cli(runs_home, "runs", "show", "m1")
    assert show.returncode == 0 and "4 bad lines in metrics.jsonl skipped" in show.stdout
    damaged = cli(runs_home, "runs", "show", "m2")
    assert damaged.returncode == 0 and "config      unreadable" in damaged.stdout and "latest.pt" in damaged.stdout
    (runs / "m2" / "previous.pt").write_bytes(b"")
    assert "previous.pt (0.0 MB, damaged: cannot be read)" in cli(runs_home, "runs", "show", "m2").stdout
    (runs / "ok" / "config.json").write_text('{"train": "x"}')
    assert cli(runs_home, "runs").returncode == 0
    resumed = cli(runs_home, "--headless", "--resume", "m1", "--max-steps", "5", "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "4 damaged lines in m1's metrics.jsonl skipped" in resumed.stdout


def test_a_run_with_no_checkpoint_yet_can_be_shown_and_deleted(runs_home, small_corpus):
    from rnn_tui.core.session import prepare
    from tests.core.helpers import overrides

    prepare(str(small_corpus), overrides(), name="fresh").lock.release()
    show = cli(runs_home, "runs", "show", "fresh", env={"COLUMNS": "80"})
    assert show.returncode == 0, show.stderr
    # no trainer holds it: no checkpoint is coming; the settings wrap under one another at 80 columns
    assert "checkpoint  none (its trainer is gone)" in show.stdout and "cell=lstm" in show.stdout
    settings = [line for line in show.stdout.splitlines() if line.startswith(("config", " "))]
    assert len(settings) > 1 and all(len(line) <= 80 for line in settings), show.stdout
    assert cli(runs_home, "runs", "delete", "fresh", "--yes").returncode == 0
    assert not (runs_home / "runs" / "fresh").exists()


def test_runs_fits_80_columns_and_takes_a_prefix_or_last(runs_home, small_corpus):
    from rnn_tui.core.session import prepare
    from tests.core.helpers import overrides

    long_names = [
        "shakespeare_tragedies_and_comedies-lstm-20240101-120000",
        "shakespeare_tragedies_and_comedies-lstm-20240101-130000",
    ]
    for name in long_names:
        prepare(str(small_corpus), overrides(), name=name).lock.release()
    train(small_corpus, name="newest", max_steps=3)
    fitted = cli(runs_home, "runs", env={"COLUMNS": "80"})
    assert fitted.returncode == 0 and max(len(line) for line in fitted.stdout.splitlines()) <= 80
    assert all(name[-6:] in fitted.stdout for name in long_names)  # names cut in the middle stay told apart
    piped = cli(runs_home, "runs")  # not a terminal: whole names for scripts
    assert all(name in piped.stdout for name in long_names)
    assert piped.stdout.splitlines()[1].startswith("newest")  # most recently trained first
    assert_clear_error(cli(runs_home, "runs", "show", "shake"), "matches 2 runs", long_names[0], long_names[1])
    assert f"run         {long_names[1]}" in cli(runs_home, "runs", "show", long_names[1][:-3]).stdout
    assert cli(runs_home, "runs", "show", "last").stdout.startswith("run         newest")
    assert cli(runs_home, "sample", "new", "--length", "5").returncode == 0


def test_sample_prints_the_prime_then_the_text_and_a_final_newline(runs_home, run_r):
    proc = cli(runs_home, "sample", "r", "--prime", "ROMEO.", "--length", "40", "--seed", "1")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("ROMEO.") and proc.stdout.endswith("\n")
    assert len(proc.stdout) in (46, 47)  # prime + 40 characters (+ a newline unless the text ended with one)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_sample_into_a_full_disk_is_one_line(runs_home, run_r):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [PYTHON, "-m", "rnn_tui", "sample", "r", "--length", "50"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(runs_home),
            cwd=REPO,
            timeout=60,
            check=False,
        )
    assert_clear_error(proc, "No space left")


def test_compare_refuses_a_taken_name_before_training_anything(runs_home, small_corpus):
    (runs_home / "runs" / "cm-gru").mkdir(parents=True)
    (runs_home / "runs" / "cm-gru" / "config.json").write_text("{}")
    started = time.monotonic()
    proc = cli(
        runs_home, str(small_corpus), "--headless", "--compare", "lstm,gru", "--name", "cm", "--max-steps", "5", *TINY
    )
    assert_clear_error(proc, "cm-gru already exists")
    assert not (runs_home / "runs" / "cm-lstm").exists() and time.monotonic() - started < 30


def test_resume_with_another_name_and_gradflow_with_one_character(runs_home, run_r):
    assert_clear_error(cli(runs_home, "--headless", "--resume", "r", "--name", "other"), "--resume r", "drop --name")
    assert not (runs_home / "runs" / "other").exists()
    assert_clear_error(cli(runs_home, "gradflow", "r", "--text", "a"), "--text needs at least 2 characters (got 1)")


def test_a_lock_that_is_a_folder_and_crafted_checkpoints_are_one_line(runs_home, run_r, tmp_path):
    from rnn_tui.core.checkpoint import load_checkpoint, save_checkpoint

    state = {
        k: v for k, v in load_checkpoint(run_r.checkpoint("latest")).items() if k not in ("format", "format_version")
    }
    cases = {
        "list.pt": {"config": [1, 2]},
        "step.pt": {"step": "abc"},
        "nan.pt": {"model": {k: torch.full_like(v, float("nan")) for k, v in state["model"].items()}},
    }
    for name, change in cases.items():
        save_checkpoint({**state, **change}, tmp_path / name)
        needle = "weights are not finite" if name == "nan.pt" else "corrupt checkpoint"
        assert_clear_error(cli(runs_home, "sample", str(tmp_path / name), "--length", "5"), needle)
    (run_r.path / "lock").unlink()
    (run_r.path / "lock").mkdir()
    assert_clear_error(cli(runs_home, "--headless", "--resume", "r", "--max-steps", "5"), "lock is a folder")


def _read_only_bind(source, target):
    """A read-only view of ``source`` (needs root and mount); None where this machine cannot."""
    target.mkdir()
    for cmd in (["mount", "--bind", str(source), str(target)], ["mount", "-o", "remount,ro,bind", str(target)]):
        if subprocess.run(cmd, capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", str(target)], capture_output=True, check=False)
            return None
    return target


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only bind mount needs root")
def test_a_read_only_runs_folder_is_one_line(runs_home, run_r, tmp_path):
    with open(run_r.metrics_path, "a") as fh:  # rows past the checkpoint: a resume would want to drop them
        fh.write(json.dumps({"step": 999, "train_loss": 1.0}) + "\n")
    view = _read_only_bind(runs_home / "runs", tmp_path / "ro")
    if view is None:
        pytest.skip("mount is not allowed here")
    try:
        before = tree(run_r.path)
        assert_clear_error(cli(runs_home, "runs", "delete", "r", "--yes", "--runs-dir", str(view)), "read-only")
        assert_clear_error(
            cli(runs_home, "--headless", "--resume", "r", "--runs-dir", str(view), "--max-steps", "5"),
            "Read-only file system",
        )
        assert tree(run_r.path) == before
    finally:
        subprocess.run(["umount", str(view)], capture_output=True, check=False)


def test_delete_needs_the_whole_name_never_a_prefix_or_last(runs_home, small_corpus):
    """`runs delete r --yes` once deleted `rel-important`: a prefix that shows a run never deletes one."""
    for name in ("rel-important", "bx"):
        assert (
            cli(runs_home, str(small_corpus), "--headless", "--max-steps", "1", "--name", name, *TINY).returncode == 0
        )
    for ref in ("r", "rel", "last", "b", "zz"):
        proc = cli(runs_home, "runs", "delete", ref, "--yes")
        assert_clear_error(proc, "whole name" if ref != "zz" else "no such run")
    assert (runs_home / "runs" / "rel-important" / "latest.pt").is_file() and (runs_home / "runs" / "bx").is_dir()
    assert "rel-important" in cli(runs_home, "runs", "show", "rel").stdout  # showing still takes a prefix
    assert cli(runs_home, "runs", "delete", "rel-important", "--yes").returncode == 0
    assert not (runs_home / "runs" / "rel-important").exists()


def test_last_is_not_a_new_runs_name(runs_home, small_corpus):
    proc = cli(runs_home, str(small_corpus), "--headless", "--max-steps", "1", "--name", "last", *TINY)
    assert_clear_error(proc, "reserved")
    assert not (runs_home / "runs" / "last").exists()


def test_a_run_file_that_is_a_link_is_refused_and_the_target_untouched(runs_home, small_corpus, tmp_path):
    """A metrics.jsonl linked to a file elsewhere: resuming once rewrote that file."""
    assert cli(runs_home, str(small_corpus), "--headless", "--max-steps", "3", "--name", "ln", *TINY).returncode == 0
    metrics = runs_home / "runs" / "ln" / "metrics.jsonl"
    victim = tmp_path / "victim.jsonl"
    victim.write_text('user line\n{"step": 999}\n')
    metrics.unlink()
    metrics.symlink_to(victim)
    proc = cli(runs_home, "--resume", "ln", "--headless", "--max-steps", "6", *TINY)
    assert_clear_error(proc, "symbolic link")
    assert victim.read_text() == 'user line\n{"step": 999}\n'


def test_an_empty_resume_is_refused_not_a_new_run(runs_home):
    proc = cli(runs_home, "--resume", "", "--headless", *TINY)
    assert_clear_error(proc, "--resume is empty")
    assert not (runs_home / "runs").exists()


def test_a_damaged_random_state_or_a_folder_for_a_file_is_not_a_crash(runs_home, small_corpus):
    """A crafted rng once failed the resume with exit 1 and an exception name; so did a metrics.jsonl folder."""
    import torch

    assert cli(runs_home, str(small_corpus), "--headless", "--max-steps", "3", "--name", "rg", *TINY).returncode == 0
    latest = runs_home / "runs" / "rg" / "latest.pt"
    state = torch.load(latest, weights_only=True)
    state["rng"] = {"torch": torch.zeros(3, dtype=torch.uint8)}
    torch.save(state, latest)
    resumed = cli(runs_home, "--resume", "rg", "--headless", "--max-steps", "5", *TINY)
    assert resumed.returncode == 0, resumed.stderr
    assert "random state is damaged" in resumed.stdout + resumed.stderr
    metrics = runs_home / "runs" / "rg" / "metrics.jsonl"
    metrics.rename(metrics.with_name("m.bak"))
    metrics.mkdir()
    assert_clear_error(cli(runs_home, "--resume", "rg", "--headless", "--max-steps", "7", *TINY), "not a plain file")


def test_sample_reads_the_next_checkpoint_when_latest_is_damaged(runs_home, small_corpus):
    made = cli(
        runs_home, str(small_corpus), "--headless", "--max-steps", "30", "--eval-every", "10", "--name", "dm", *TINY
    )
    assert made.returncode == 0 and (runs_home / "runs" / "dm" / "best.pt").is_file()
    (runs_home / "runs" / "dm" / "latest.pt").write_bytes(b"")
    proc = cli(runs_home, "sample", "dm", "--length", "20", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) >= 20

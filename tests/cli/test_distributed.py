"""torchrun with 2 CPU processes on the gloo backend: one run saved once, the loss falls, resume works."""

import json
import subprocess

import pytest

from tests.cli.test_cli import TINY, rnn_tui
from tests.conftest import PYTHON, REPO, cli_env

pytestmark = pytest.mark.slow


def torchrun(home, *args, nproc=2, log_dir=None):
    """``log_dir``: each rank's stderr goes to a file there, with Python's fault handler on (a rank
    that aborts leaves every thread's stack; see ``rank_logs``)."""
    env = cli_env(home)
    options = []
    if log_dir is not None:
        options = ["--log-dir", str(log_dir), "--redirects", "2"]
        env["PYTHONFAULTHANDLER"] = "1"
    return subprocess.run(
        [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *options]
        + ["-m", "rnn_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=240,
    )


def rank_logs(log_dir) -> str:
    """Every rank's stderr, for a failure message."""
    return "\n".join(f"--- {p}:\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(log_dir.rglob("*.log")))


def test_two_process_ddp_run_is_saved_once_and_learns(runs_home, small_corpus, tmp_path):
    logs = tmp_path / "rank-logs"
    proc = torchrun(
        runs_home,
        str(small_corpus),
        "--headless",
        "--name",
        "ddp",
        "--max-steps",
        "60",
        "--lr",
        "5e-3",
        "--log-every",
        "1",
        *TINY,
        log_dir=logs,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + rank_logs(logs)
    run = runs_home / "runs" / "ddp"
    assert proc.stdout.strip().splitlines()[-1] == str(run)  # printed once, by rank 0
    assert [p.name for p in (runs_home / "runs").iterdir()] == ["ddp"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 61))  # every step logged exactly once
    first = sum(r["train_loss"] for r in rows[:10]) / 10
    last = sum(r["train_loss"] for r in rows[-10:]) / 10
    assert last < first - 0.5
    from rnn_tui.core.checkpoint import load_checkpoint

    state = load_checkpoint(run / "latest.pt")
    assert state["step"] == 60
    assert state["hidden"][0].shape[1] == 8  # the carried state of all streams, gathered from both ranks
    assert "module." not in "".join(state["model"])  # plain parameter names: an ordinary run
    resumed = rnn_tui(runs_home, "--headless", "--resume", "ddp", "--max-steps", "70", "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr
    after = load_checkpoint(run / "latest.pt")
    assert after["step"] == 70 and tuple(after["hidden"][0].shape) == (1, 8, 32)  # all 8 streams carried on
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[-10:] == list(range(61, 71)) and len(steps) == len(set(steps))  # the history continues, no repeats


def test_batch_must_split_evenly(runs_home, small_corpus):
    args = [a if a != "8" else "7" for a in TINY]  # --batch-size 7 over 2 processes
    proc = torchrun(runs_home, str(small_corpus), "--headless", "--name", "odd", "--max-steps", "5", *args)
    assert proc.returncode != 0
    assert "multiple of the number of processes" in proc.stdout + proc.stderr

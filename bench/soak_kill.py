"""Kill -9 a headless run at random moments, resume it each time, and check nothing was lost.

    python bench/soak_kill.py [--rounds 20] [--save-every 1] [--seed 0]

A tiny LSTM trains on the start of the bundled corpus with ``--save-every 1 --log-every 1``. Each
round starts the run (the first one new, the rest ``--resume``), waits a random time once it
trains, and kills it with SIGKILL (saves included: they happen every second). After each kill it
checks what the next resume must be able to trust:

* the resume goes back at most one autosave interval: the newest complete checkpoint was written no
  longer before the kill than ``--save-every`` plus a little slack (the save in progress, one step);
* best.pt never gets worse;
* metrics.jsonl holds steps 1..N with no gap and no duplicate (a row cut by the kill may end it).

It prints one line per round and a summary; the exit code is 0 only if every round survived.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnn_tui.core.checkpoint import newest_checkpoint, peek_checkpoint

NAME = "soak"
SLACK_S = 0.75  # a save in progress at the kill, and the step it was taken at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--save-every", type=float, default=1.0)
    parser.add_argument("--max-wait", type=float, default=4.0, help="longest random wait before a kill (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the runs folder (removed by default)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="rnn-tui-soak-"))
    corpus = home / "corpus.txt"
    corpus.write_text(
        (REPO / "rnn_tui" / "data" / "shakespeare_tragedies.txt").read_text(encoding="utf-8")[:80_000], encoding="utf-8"
    )
    run_dir = home / "runs" / NAME
    env = dict(os.environ, RNN_TUI_HOME=str(home), PYTHONPATH=str(REPO))
    base = [
        sys.executable,
        "-m",
        "rnn_tui",
        "--headless",
        "--log-every",
        "1",
        "--sample-every",
        "2",
        "--save-every",
        str(args.save_every),
        "--eval-every",
        "150",
        "--eval-chars",
        "2000",
        "--threads",
        "1",
    ]
    first = [
        *base,
        str(corpus),
        "--name",
        NAME,
        "--cell",
        "lstm",
        "--layers",
        "1",
        "--hidden-size",
        "48",
        "--embed-size",
        "16",
        "--seq-len",
        "32",
        "--batch-size",
        "8",
        "--dropout",
        "0.1",
    ]
    survived, worst_loss_s, best_history, problems = 0, 0.0, [], []
    print(f"soak: {args.rounds} rounds of kill -9, --save-every {args.save_every}, runs in {home}")
    for round_no in range(1, args.rounds + 1):
        command = first if round_no == 1 else [*base, "--resume", NAME]
        proc = subprocess.Popen(command, env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        started = threading.Event()
        threading.Thread(target=_read, args=(proc, lines, started), daemon=True).start()
        if not started.wait(60):
            problems.append(f"round {round_no}: never started: {' | '.join(lines[-3:])}")
            proc.kill()
            proc.wait()
            break
        if round_no == 1:  # the run must have a checkpoint before a resume can be asked of it
            while not (run_dir / "latest.pt").exists() and proc.poll() is None:
                time.sleep(0.05)
        time.sleep(rng.uniform(0.0, args.max_wait))
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait()
        time.sleep(0.1)  # the reader thread takes the last lines
        resumed = _resumed_step(lines)
        rows, cut = _rows(run_dir / "metrics.jsonl")
        trouble = []
        if round_no > 1 and resumed is None:
            trouble.append("did not resume: " + " | ".join(lines[-3:]))
        steps = [r["step"] for r in rows]
        if steps != list(range(1, len(steps) + 1)):
            trouble.append(f"metrics.jsonl has a gap or duplicate ({_describe(steps)})")
        best = peek_checkpoint(run_dir / "best.pt")
        if best and best["best_val_loss"] is not None:
            if best_history and best["best_val_loss"] > best_history[-1] + 1e-12:
                trouble.append(f"best.pt got worse: {best_history[-1]:.4f} -> {best['best_val_loss']:.4f}")
            best_history.append(best["best_val_loss"])
        try:
            path, state = newest_checkpoint(run_dir)
            next_step = state["step"]
        except Exception as exc:  # noqa: BLE001 - a soak reports, it does not stop
            trouble.append(f"no complete checkpoint: {exc}")
            next_step = None
        lost_s = 0.0
        if next_step is not None:
            # Training the next resume has to redo: since the checkpoint, or since this round began to train.
            lost_s = killed_at - max(path.stat().st_mtime, started.at)
            if steps and next_step > steps[-1]:
                trouble.append(f"checkpoint at step {next_step} is past the last metrics row ({steps[-1]})")
            elif lost_s > args.save_every + SLACK_S:
                trouble.append(f"a resume would go back {lost_s:.2f} s ({path.name} at step {next_step})")
        worst_loss_s = max(worst_loss_s, lost_s)
        status = "ok" if not trouble else "FAILED: " + "; ".join(trouble)
        if trouble:
            print("\n".join("    | " + line for line in lines[-12:]))
        survived += not trouble
        problems += [f"round {round_no}: {t}" for t in trouble]
        print(
            f"round {round_no:2d}: resumed at {resumed if resumed is not None else '-':>5}, killed with metrics at "
            "step "
            f"{steps[-1] if steps else 0:5d}{' (+ a cut row)' if cut else ''}, next resume from {next_step} "
            f"({path.name if next_step is not None else '-'}), "
            f"would lose {lost_s:4.2f} s; {status}"
        )
    final = _finish(base, env, home, run_dir)
    print()
    print(f"rounds survived: {survived}/{args.rounds}")
    print(f"largest step-back on resume: {worst_loss_s:.2f} s of training (limit {args.save_every + SLACK_S:.2f} s)")
    if best_history:
        print(
            f"best val loss: {best_history[0]:.4f} -> {best_history[-1]:.4f}, never worse: "
            f"{all(b <= a + 1e-12 for a, b in itertools.pairwise(best_history))}"
        )
    print(f"final clean run: {final}")
    for line in problems:
        print("  " + line)
    if args.keep:
        print(f"runs kept in {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
    return 0 if survived == args.rounds and not problems and final.startswith("ok") else 1


def _read(proc, lines: list[str], started: threading.Event) -> None:
    for line in proc.stdout:
        lines.append(f"{time.time():.2f} {line.rstrip()}")
        if line.startswith(f"run {NAME}:"):
            started.at = time.time()
            started.set()


def _resumed_step(lines: list[str]) -> int | None:
    for line in lines:
        match = re.search(rf"note: resumed {NAME} at step ([\d,]+)", line)
        if match:
            return int(match.group(1).replace(",", ""))
    return None


def _rows(path: Path) -> tuple[list[dict], bool]:
    """The rows, and whether the last line was cut short by the kill (allowed: the resume drops it)."""
    data = path.read_bytes() if path.exists() else b""
    lines = data.split(b"\n")
    tail = lines.pop()
    rows = [json.loads(line) for line in lines if line.strip()]
    return rows, bool(tail)


def _describe(steps: list[int]) -> str:
    bad = next((i for i, s in enumerate(steps) if s != i + 1), None)
    return "empty" if bad is None else f"row {bad + 1} is step {steps[bad]}"


def _finish(base, env, home, run_dir) -> str:
    """One last resume, stopped with SIGTERM: it must save and exit 143 with a whole metrics file."""
    proc = subprocess.Popen(
        [*base, "--resume", NAME], env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # Stopped once it trains (a stop while it still loads would leave the dead run's rows: not this check).
    before = max((r["step"] for r in _rows(run_dir / "metrics.jsonl")[0]), default=0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        rows = _rows(run_dir / "metrics.jsonl")[0]
        if rows and rows[-1]["step"] > before + 20:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    rows, cut = _rows(run_dir / "metrics.jsonl")
    steps = [r["step"] for r in rows]
    latest = peek_checkpoint(run_dir / "latest.pt")
    whole = steps == list(range(1, len(steps) + 1)) and not cut
    ok = proc.returncode == 143 and latest is not None and latest["step"] == steps[-1] and whole
    return (
        f"{'ok' if ok else 'FAILED'}: exit {proc.returncode}, latest.pt at step {latest and latest['step']}, "
        f"metrics 1..{steps[-1] if steps else 0} {'whole' if whole else 'NOT whole'}"
    )


if __name__ == "__main__":
    sys.exit(main())

"""Quality on one GPU: best validation loss within a time budget, several flag sets at once.

    python bench/gpu_quality.py [--minutes 5] [--out DIR]
    python bench/gpu_quality.py --dry-run      # CPU, seconds: checks the script

Each flag set in CANDIDATES trains headless on the bundled tragedies (validation = the last 10%)
for ``--max-time``, all of them at once on the one card: each gets a share of it, so a set that
reaches the goal here reaches it sooner alone. Prints, per set, the best validation loss, when it
first reached 1.40 nats/char, its chars/s and epochs, and keeps each run's metrics.jsonl (the
curve) under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 1.40
COMMON = [
    "--precision",
    "bf16",
    "--cell",
    "lstm",
    "--seq-len",
    "128",
    "--warmup-steps",
    "200",
    "--sample-every",
    "60",
    "--save-every",
    "0",
]
CANDIDATES = {
    "2x512-d50": [
        "--layers",
        "2",
        "--hidden-size",
        "512",
        "--dropout",
        "0.5",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--lr-decay",
        "0.95",
        "--eval-every",
        "143",
    ],
    "3x512-d50": [
        "--layers",
        "3",
        "--hidden-size",
        "512",
        "--dropout",
        "0.5",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--lr-decay",
        "0.95",
        "--eval-every",
        "143",
    ],
    "2x1024-d60": [
        "--layers",
        "2",
        "--hidden-size",
        "1024",
        "--embed-size",
        "128",
        "--dropout",
        "0.6",
        "--batch-size",
        "128",
        "--lr",
        "1.5e-3",
        "--lr-decay",
        "0.95",
        "--weight-decay",
        "0.1",
        "--eval-every",
        "72",
    ],
    "3x768-d55": [
        "--layers",
        "3",
        "--hidden-size",
        "768",
        "--embed-size",
        "128",
        "--dropout",
        "0.55",
        "--batch-size",
        "128",
        "--lr",
        "2e-3",
        "--lr-decay",
        "0.95",
        "--eval-every",
        "72",
    ],
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp())
    out = args.out or home / "curves"
    out.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        RNN_TUI_HOME=str(home),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    )
    seconds = 6.0 if args.dry_run else args.minutes * 60
    procs = {}
    for name, flags in CANDIDATES.items():
        extra = (
            ["--device", "cpu", "--hidden-size", "32", "--batch-size", "8", "--eval-every", "5", "--precision", "fp32"]
            if args.dry_run
            else []
        )
        cmd = [
            sys.executable,
            "-m",
            "rnn_tui",
            "--headless",
            "--name",
            name,
            "--max-time",
            str(seconds),
            *COMMON,
            *flags,
            *extra,
        ]
        log = open(out / f"{name}.log", "w")
        procs[name] = (subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), " ".join(flags))
    started = time.time()
    for proc, _ in procs.values():
        proc.wait()
    print(f"{len(procs)} runs at once for {seconds:.0f} s each (wall {time.time() - started:.0f} s)\n")
    print("| flags | best val | reached 1.40 at | chars/s (shared card) | epochs |")
    print("|---|---|---|---|---|")
    for name, (proc, flags) in procs.items():
        metrics = home / "runs" / name / "metrics.jsonl"
        rows = [json.loads(line) for line in metrics.read_text().splitlines()] if metrics.exists() else []
        vals = [(r["elapsed"], r["val_loss"]) for r in rows if r.get("val_loss") is not None]
        best = min((v for _, v in vals), default=None)
        reached = next((t for t, v in vals if v <= GOAL), None)
        rates = [r["chars_per_sec"] for r in rows if r.get("chars_per_sec")]
        rate = sorted(rates)[len(rates) // 2] if rates else 0
        steps = rows[-1]["step"] if rows else 0
        config = json.loads((home / "runs" / name / "config.json").read_text()) if rows else {}
        chunk = config.get("train", config).get("batch_size", 64) * 128 if rows else 1
        epochs = steps * chunk / 1.2e6
        if metrics.exists():
            shutil.copy(metrics, out / f"{name}.metrics.jsonl")
        print(
            f"| `{name}`: {flags} | {best if best is None else f'{best:.4f}'} | "
            f"{'-' if reached is None else f'{reached:.0f} s'} | {rate:,.0f} | {epochs:.1f} | rc {proc.returncode}",
            flush=True,
        )


if __name__ == "__main__":
    main()

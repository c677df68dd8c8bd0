"""Training in its own process, watched by the app: the issue's goals, measured side by side.

    python bench/attach.py [--seconds 15] [--only latency|throughput|attach|bytes|views]

1. key press to screen (p50/p95/p99) while a 2x256 LSTM trains: the app over the trainer process
   (the default) against the trainer on a thread of the app (--in-process), against the default at
   Textual's own 60 frames a second, and resumed from a run with 100,000 logged steps;
2. training throughput with a viewer attached against none: one background run, phases without and
   with ``rnn-tui attach`` alternating, steps/s from its metrics.jsonl;
3. attaching to a run with 100,000 logged steps: seconds until the whole history is on screen;
4. bytes per second an attached viewer writes to an 80x24 terminal (and with SSH_CONNECTION set);
5. seconds from `g` (gate view) and `f` (gradient flow) to their first result while the model trains.

Everything runs through pseudo-terminals as a user's terminal would. Timings depend on what else
the machine does: on a shared box, run it twice and read the ratios, not single numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tui import Terminal  # noqa: E402  (bench/tui.py: the real app in a pty)

MODEL = ["--layers", "2", "--hidden-size", "256", "--sample-every", "5"]


def cli(home, *args, check=True):
    env = dict(os.environ, RNN_TUI_HOME=str(home), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "rnn_tui", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def key_latency(term, presses=40) -> list[float]:
    """'b' toggles the chart between nats and bits per character; time until the screen says so."""
    latencies = []
    for k in range(presses):
        needle = b"bits/char" if k % 2 == 0 else b"nats/char"
        term.drain(0.15)
        sent = time.perf_counter()
        os.write(term.master, b"b")
        seen = term.wait_for(needle, 2.0)
        if seen:
            latencies.append((seen - sent) * 1000)
    return sorted(latencies)


def pct(values, p):
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def quit_app(term, keys=(b"q", b"s")):
    try:
        for key in keys:
            os.write(term.master, key)
            term.drain(0.5)
        term.proc.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        term.proc.kill()
        term.proc.wait()
    os.close(term.master)


def bench_latency(home, corpus, seconds, presses=100):
    """Key press to screen in four cases, one after the other on the same machine."""
    long_run = make_long_run(home, corpus, model=MODEL[:4])
    cases = (
        ("trainer process", [str(corpus), "--name", "lat-tp", *MODEL], {}, (b"q", b"s")),
        ("in-process", [str(corpus), "--name", "lat-in", *MODEL, "--in-process"], {}, (b"q",)),
        ("at 60 frames/s", [str(corpus), "--name", "lat-60", *MODEL], {"TEXTUAL_FPS": "60"}, (b"q", b"s")),
        ("100k-step run", ["--resume", long_run, *MODEL[4:], "--max-steps", "100000000"], {}, (b"q", b"s")),
    )
    results = {}
    for label, args, env, keys in cases:
        term = Terminal([*args, "--max-time", str(seconds + 90)], home, extra_env=env)
        try:
            term.wait_for(b"chars/s", 90)
            term.drain(3)
            results[label] = key_latency(term, presses)
        finally:
            quit_app(term, keys)
    notes = {
        "trainer process": "the default: the app over the trainer's process",
        "in-process": "--in-process: the trainer on a thread of the app",
        "at 60 frames/s": "the default but at Textual's own frame cap (TEXTUAL_FPS=60)",
        "100k-step run": "the default, resumed from a run with 100,000 logged steps (a full chart)",
    }
    for label, values in results.items():
        print(
            f"1.  key press to screen, {label:15s} ({len(values)} presses): p50 {pct(values, 0.5):4.0f} ms, "
            f"p95 {pct(values, 0.95):4.0f} ms, p99 {pct(values, 0.99):4.0f} ms; {notes[label]}"
        )
    print("    (goal: p95 <= 25 ms, p99 <= 50 ms while a 2x256 LSTM trains)")


def steps_at(metrics: Path) -> tuple[int, float]:
    last = metrics.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    row = json.loads(last)
    return row["step"], row["elapsed"]


def cpu_seconds(pid) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SETTLE_S = 5.0


def bench_throughput(home, corpus_args, seconds, phases=6):
    name = "through"
    cli(home, *corpus_args, "--detach", "--name", name, *MODEL, "--log-every", "5")
    metrics = home / "runs" / name / "metrics.jsonl"
    try:
        while not metrics.exists() or metrics.stat().st_size == 0:
            time.sleep(0.2)
        time.sleep(5)  # warm up (the thread tuner settles)
        rates = {"none": [], "viewer": []}
        viewer_cpu = []
        for phase in range(phases):
            watched = phase % 2 == 1
            viewer = Terminal(["attach", name], home) if watched else None
            if viewer is not None:
                viewer.wait_for(b"chars/s", 30)
                viewer.drain(SETTLE_S)  # attaching loads the history and torch once: steady state is measured
            step0, e0 = steps_at(metrics)
            if viewer is not None:
                c0, t0 = cpu_seconds(viewer.proc.pid), time.perf_counter()
                viewer.drain(seconds)
                viewer_cpu.append((cpu_seconds(viewer.proc.pid) - c0) / (time.perf_counter() - t0))
            else:
                time.sleep(seconds)
            step1, e1 = steps_at(metrics)
            rates["viewer" if watched else "none"].append((step1 - step0) / max(e1 - e0, 1e-9))
            if viewer is not None:
                quit_app(viewer, (b"q", b"l"))
    finally:
        cli(home, "stop", name, check=False)
    none, viewer = statistics.mean(rates["none"]), statistics.mean(rates["viewer"])
    print(
        f"2.  throughput, 2x256 LSTM in the background: {none:.2f} steps/s alone, {viewer:.2f} with a viewer "
        f"attached (ratio {viewer / none:.3f}, goal >= 0.97; from {SETTLE_S:g} s after attaching)"
    )
    print(
        "    phases (alone, watched, alone, ...): "
        f"{' '.join(f'{a:.2f}/{b:.2f}' for a, b in zip(rates['none'], rates['viewer']))}"
    )
    print(
        f"    the viewer's own CPU: {statistics.mean(viewer_cpu):.1%} of one core, "
        f"{statistics.mean(viewer_cpu) / (os.cpu_count() or 1):.1%} "
        f"of the machine: the most it can take from training"
    )


def make_long_run(home, corpus, steps=100_000, model=("--layers", "1", "--hidden-size", "32")) -> str:
    """A run whose metrics.jsonl holds ``steps`` rows and whose checkpoint is at that step."""
    import torch

    name = f"long-{model[1]}x{model[3]}"
    cli(
        home,
        str(corpus),
        "--headless",
        "--name",
        name,
        *model,
        "--max-steps",
        "20",
        "--sample-every",
        "0",
        "--threads",
        "1",
    )
    run = home / "runs" / name
    state = torch.load(run / "latest.pt", map_location="cpu", weights_only=True)
    state["step"] = steps
    torch.save(state, run / "latest.pt")
    for other in ("previous.pt", "best.pt"):
        (run / other).unlink(missing_ok=True)
    with open(run / "metrics.jsonl", "w") as fh:
        for step in range(1, steps + 1):
            row = {
                "step": step,
                "lr": 1e-3,
                "grad_norm": 0.5,
                "elapsed": step / 100,
                "train_loss": 3.0 / (1 + step / 5000) + 0.1 * math.sin(step * 12.9898) ** 3,  # noisy, as a real one
            }
            if step % 250 == 0:
                row["val_loss"] = 3.1 / (1 + step / 5000)
            fh.write(json.dumps(row, separators=(",", ":")) + "\n")
    return name


def bench_attach_time(home, corpus):
    name = make_long_run(home, corpus)
    cli(home, "--resume", name, "--detach", "--sample-every", "0", "--threads", "1", "--max-steps", "100000000")
    try:
        term = Terminal(["attach", name], home)
        first = term.wait_for(b"step", 30)
        shown = term.wait_for(b"100k", 30)  # the chart's axis reaches back to the start: the history is drawn
        print(
            f"3.  attach to a run with 100,000 logged steps: first frame {first - term.started:.2f} s, whole history "
            f"on screen {(shown or float('nan')) - term.started:.2f} s after `rnn-tui attach` started (goal <= 1 s)"
        )
        quit_app(term, (b"q", b"l"))
    finally:
        cli(home, "stop", name, check=False)


def bench_bytes(home, corpus_args, seconds):
    name = "bytes"
    cli(home, *corpus_args, "--detach", "--name", name, *MODEL)
    try:
        for label, extra in (("local", {}), ("SSH_CONNECTION set", {"SSH_CONNECTION": "10.0.0.1 5555 10.0.0.2 22"})):
            term = Terminal(["attach", name], home, extra_env=extra)
            term.wait_for(b"chars/s", 60)
            term.drain(3)
            before, t0 = term.bytes, time.perf_counter()
            term.drain(seconds)
            rate = (term.bytes - before) / (time.perf_counter() - t0)
            goal = 10 if extra else 20
            print(f"4.  an attached viewer at 80x24, {label}: {rate / 1000:.1f} KB/s (goal <= {goal} KB/s)")
            quit_app(term, (b"q", b"l"))
    finally:
        cli(home, "stop", name, check=False)


def bench_views(home, corpus, rounds=2):
    """Seconds from the key to a view's first result while a 2x256 LSTM trains (its torch beside the trainer's)."""
    results: dict[str, list[float]] = {"gate view (g)": [], "gradient flow (f)": []}
    for k in range(rounds):
        term = Terminal([str(corpus), "--name", f"views-{k}", *MODEL, "--max-time", "240"], home)
        try:
            term.wait_for(b"chars/s", 90)
            term.drain(8)  # the app has the newest weights
            for times, (key, needle) in zip(results.values(), ((b"g", b"unit 0/"), (b"f", b" keeps "))):
                sent = time.perf_counter()
                os.write(term.master, key)
                seen = term.wait_for(needle, 120)
                times.append((seen or float("nan")) - sent)
                os.write(term.master, b"\x1b")
                term.drain(2)
        finally:
            quit_app(term, (b"q", b"s"))
    for label, times in results.items():
        print(f"5.  key to the first {label:18s} while training: {' '.join(f'{t:.2f}' for t in times)} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--only",
        choices=("latency", "throughput", "attach", "bytes", "views"),
        action="append",
        help="run only these parts (repeatable)",
    )
    args = parser.parse_args()
    parts = set(args.only or ("latency", "throughput", "attach", "bytes", "views"))
    home = Path(tempfile.mkdtemp(prefix="rnn-tui-bench-attach-"))
    corpus = REPO / "rnn_tui" / "data" / "shakespeare_tragedies.txt"
    print(
        f"bench/attach.py on {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start; runs in {home}"
    )
    if "latency" in parts:
        bench_latency(home, corpus, args.seconds)
    if "throughput" in parts:
        bench_throughput(home, [str(corpus)], args.seconds)
    if "attach" in parts:
        bench_attach_time(home, corpus)
    if "bytes" in parts:
        bench_bytes(home, [str(corpus)], args.seconds)
    if "views" in parts:
        bench_views(home, corpus)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Training on a shared CPU: throughput with one busy competing process, and how fast a stop lands.

    python bench/shared_cpu.py              # headless and the app, ~6 minutes on 2 cores
    python bench/shared_cpu.py --quick      # headless only, shorter windows

For each face and each setting ("tuned": the thread tuner, today's default; "pinned": `--threads`
set to all cores, as before the tuner), one run trains the default 2x256 LSTM on the
bundled corpus alone and one beside a busy process (a pure-Python loop on one core); the table gives
chars/s of each and their ratio, then the seconds from SIGTERM to exit with the competitor running.
Ratios only: both sides run in the same minute on the same machine. Never run by the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "tuned": {},
    "pinned": {"args": ["--threads", str(len(os.sched_getaffinity(0)))]},
}


def competitor() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def start(face: str, setting: str, home: str, name: str, seconds: float) -> tuple[subprocess.Popen, int | None]:
    env = dict(os.environ, RNN_TUI_HOME=home, PYTHONPATH=str(REPO), TERM="xterm-256color", COLUMNS="80", LINES="24")
    extra = SETTINGS[setting]
    args = [sys.executable, "-m", "rnn_tui", "--name", name, "--max-time", str(seconds), *extra.get("args", [])]
    if face == "headless":
        return subprocess.Popen(
            [*args, "--headless"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ), None
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    return proc, master


def drain(fd: int | None, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if fd is None:
            time.sleep(min(0.2, end - time.monotonic()) if end > time.monotonic() else 0)
            continue
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                return


def rate(home: str, name: str, chars_per_step: int = 64 * 128) -> float:
    """chars/s from the logged steps and elapsed times, after the first quarter (warm-up out)."""
    rows = []
    path = Path(home) / "runs" / name / "metrics.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and isinstance(row.get("elapsed"), (int, float)):
            rows.append((row["step"], row["elapsed"]))
    if len(rows) < 2:
        return 0.0
    first, last = rows[len(rows) // 4], rows[-1]
    if last[1] <= first[1]:
        first = rows[0]
    return (last[0] - first[0]) * chars_per_step / max(last[1] - first[1], 1e-9)


def train(face, setting, seconds, loaded, home) -> float:
    name = f"{face}-{setting}-{'loaded' if loaded else 'alone'}"
    busy = competitor() if loaded else None
    try:
        proc, fd = start(face, setting, home, name, seconds)
        began = time.monotonic()
        asked = 0
        while proc.poll() is None:
            drain(fd, 0.5)
            waited = time.monotonic() - began
            if fd is not None and waited > seconds + 15 + 5 * asked and asked < 4:
                os.write(fd, b"q" if asked % 2 == 0 else b"s")  # the app stays open after training: leave it
                asked += 1
        if fd is not None:
            os.close(fd)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return rate(home, name)


def stop_latency(face, setting, home, warmup: float) -> float:
    name = f"{face}-{setting}-stop"
    busy = competitor()
    try:
        proc, fd = start(face, setting, home, name, 3600)
        drain(fd, warmup)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        while proc.poll() is None and time.monotonic() - sent < 120:
            drain(fd, 0.05)
        took = time.monotonic() - sent
        if proc.poll() is None:
            proc.kill()
        if fd is not None:
            os.close(fd)
        return took
    finally:
        busy.kill()
        busy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="25-second runs, headless only")
    parser.add_argument("--faces", default=None, help="comma-separated: headless,app")
    args = parser.parse_args()
    seconds = 25.0 if args.quick else 40.0
    faces = args.faces.split(",") if args.faces else ["headless"] if args.quick else ["headless", "app"]
    print(f"{os.cpu_count()} cores; {seconds:.0f} s per run; competitor: one busy Python loop")
    print(f"{'face':9} {'setting':7} {'alone':>10} {'loaded':>10} {'ratio':>6} {'SIGTERM→exit':>13}")
    with tempfile.TemporaryDirectory() as home:
        for face in faces:
            for setting in SETTINGS:
                alone = train(face, setting, seconds, False, home)
                loaded = train(face, setting, seconds, True, home)
                stop = stop_latency(face, setting, home, warmup=seconds / 2)
                ratio = loaded / alone if alone else float("nan")
                print(f"{face:9} {setting:7} {alone:10,.0f} {loaded:10,.0f} {ratio:6.2f} {stop:12.1f}s", flush=True)


if __name__ == "__main__":
    main()

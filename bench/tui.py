"""The real app in a pseudo-terminal: first frame, key latency, bytes/s, throughput vs headless.

    python bench/tui.py [--seconds 30] [--app-args "--device cuda --hidden-size 512"] [--no-ssh]

Everything is measured on the real ``rnn-tui`` process through a pty, as a user's terminal sees it,
while a 2x256 LSTM trains on the bundled corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def python_path() -> str:
    return os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)


class Terminal:
    def __init__(self, args, home, columns=80, lines=24, extra_env=None):
        self.master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = dict(os.environ, RNN_TUI_HOME=str(home), TERM="xterm-256color", PYTHONPATH=python_path())
        env.update(extra_env or {})
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnn_tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
        os.close(slave)
        self.bytes = 0
        self.buffer = b""

    def read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:
            return b""
        self.bytes += len(data)
        self.buffer = (self.buffer + data)[-200_000:]
        return data

    def wait_for(self, needle: bytes, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        seen = b""
        while time.perf_counter() < deadline:
            seen += self.read(0.01)
            if needle in seen:
                return time.perf_counter()
            seen = seen[-4096:]
        return None

    def drain(self, seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.read(0.02)

    def close(self):
        try:
            os.write(self.master, b"q")  # the app asks: s saves and stops the training process too
            self.drain(0.5)
            os.write(self.master, b"s")
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def median_rate(metrics: Path) -> float:
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    rates = [r["chars_per_sec"] for r in rows[len(rows) // 4 :] if r.get("chars_per_sec")]
    return statistics.median(rates) if rates else 0.0


def measure_app(term, seconds):
    first = term.wait_for(b"training", 30)
    print(f"3b. first frame of the dashboard: {first - term.started:.2f} s after start (goal <= 1.5 s)")
    term.wait_for(b"chars/s", 60)
    term.drain(3)
    # Terminal bandwidth while training, no keys pressed.
    before, t0 = term.bytes, time.perf_counter()
    term.drain(10)
    rate = (term.bytes - before) / (time.perf_counter() - t0)
    print(f"8.  bytes written to an 80x24 terminal while training: {rate / 1000:.1f} KB/s (goal <= 20 KB/s)")
    # Key to screen: 'b' toggles the chart between nats/char and bits/char.
    latencies = []
    for k in range(40):
        needle = b"bits/char" if k % 2 == 0 else b"nats/char"
        term.drain(0.15)
        sent = time.perf_counter()
        os.write(term.master, b"b")
        seen = term.wait_for(needle, 2.0)
        if seen:
            latencies.append((seen - sent) * 1000)
    latencies.sort()
    if not latencies:
        print("2.  key press to screen update: no screen update seen")
        return
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]  # noqa: E731
    print(
        f"2.  key press to screen update ({len(latencies)} presses): p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms, "
        f"p99 {pct(0.99):.0f} ms (goal p95 <= 50 ms)"
    )
    term.drain(max(0.0, seconds - 15))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--app-args", default="", help="more flags for the app and the headless run alike")
    parser.add_argument("--no-ssh", action="store_true", help="skip the SSH_CONNECTION bandwidth run")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp())
    extra = shlex.split(args.app_args)
    common = ["--max-time", str(args.seconds + 30), "--sample-every", "5", *extra]

    term = Terminal(["--name", "tui", *common], home)
    try:
        measure_app(term, args.seconds)
    finally:
        term.close()
    if not args.no_ssh:
        measure_ssh(home, extra)
    tui_rate = median_rate(home / "runs" / "tui" / "metrics.jsonl")
    env = dict(os.environ, RNN_TUI_HOME=str(home), PYTHONPATH=python_path())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rnn_tui",
            "--headless",
            "--name",
            "headless",
            "--max-time",
            str(args.seconds),
            "--sample-every",
            "5",
            *extra,
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    headless_rate = median_rate(home / "runs" / "headless" / "metrics.jsonl")
    print(
        f"2b. trainer throughput with the app up: {tui_rate:,.0f} chars/s vs headless {headless_rate:,.0f} chars/s "
        f"(ratio {tui_rate / headless_rate:.3f})"
    )


def measure_ssh(home, extra):
    ssh = Terminal(
        ["--name", "ssh", "--max-time", "40", "--sample-every", "5", *extra],
        home,
        extra_env={"SSH_CONNECTION": "10.0.0.1 5555 10.0.0.2 22"},
    )
    try:
        ssh.wait_for(b"chars/s", 60)
        ssh.drain(3)
        before, t0 = ssh.bytes, time.perf_counter()
        ssh.drain(10)
        print(
            f"8b. the same with SSH_CONNECTION set: {(ssh.bytes - before) / (time.perf_counter() - t0) / 1000:.1f} KB/s"
        )
    finally:
        ssh.close()


if __name__ == "__main__":
    main()

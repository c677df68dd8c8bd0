"""Kill -9 the viewer, the trainer or both at random moments; check the run and `runs` each time.

    python bench/soak_attach.py [--rounds 20] [--seed 0]

A tiny LSTM trains in the background (``--detach``, autosaves every second); each round a viewer
(``rnn-tui attach`` in a pseudo-terminal) watches it, then one of them, or both, is killed with
SIGKILL after a random wait. After each kill it checks what a user relies on:

* viewer only: the trainer goes on (its metrics grow) and ``rnn-tui runs`` lists it as training;
* trainer (alone or with the viewer): ``rnn-tui runs`` shows nothing live and no socket is left,
  and ``--resume`` starts again from the newest complete checkpoint (latest or previous);
* a viewer whose trainer was killed says so ("ended unexpectedly") instead of hanging.

It prints one line per round and ``rounds survived: N/M``; the exit code is 0 only if all survived.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnn_tui.core.checkpoint import newest_checkpoint  # noqa: E402
from rnn_tui.core.live import lock_held  # noqa: E402

NAME = "soak"
TINY = [
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
    "--threads",
    "1",
    "--log-every",
    "1",
    "--save-every",
    "1",
    "--sample-every",
    "2",
    "--eval-every",
    "200",
    "--eval-chars",
    "2000",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--max-wait", type=float, default=3.0, help="longest random wait before a kill (s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="rnn-tui-soak-attach-"))
    corpus = home / "corpus.txt"
    corpus.write_text(
        (REPO / "rnn_tui" / "data" / "shakespeare_tragedies.txt").read_text(encoding="utf-8")[:80_000], encoding="utf-8"
    )
    run_dir = home / "runs" / NAME
    env = dict(os.environ, RNN_TUI_HOME=str(home), PYTHONPATH=str(REPO), TERM="xterm-256color")
    env.pop("SSH_CONNECTION", None)
    print(f"soak: {args.rounds} rounds of kill -9 of viewer / trainer / both; runs in {home}")
    survived, problems, trainer, resumes = 0, [], None, 0
    for round_no in range(1, args.rounds + 1):
        trouble = []
        if trainer is None or not _alive(trainer):
            resume_from = None if round_no == 1 else newest_checkpoint(run_dir)[1]["step"]
            command = [str(corpus), "--name", NAME, *TINY] if round_no == 1 else ["--resume", NAME]
            proc = _cli(env, *command, "--detach")
            if proc.returncode != 0:
                problems.append(f"round {round_no}: could not start: {proc.stderr.strip()[-300:]}")
                break
            trainer = json.loads((run_dir / "live.json").read_text())["pid"]
            if resume_from is not None:

                def resumed():
                    log = (run_dir / "trainer.log").read_text(errors="replace")
                    return [int(n.replace(",", "")) for n in re.findall(rf"resumed {NAME} at step ([\d,]+)", log)]

                resumes += 1
                _wait(lambda n=resumes: len(resumed()) >= n, 5)  # the note may follow the start by a moment
                got = resumed()
                if not got or got[-1] != resume_from:
                    trouble.append(f"resumed at {got[-1] if got else '?'}, newest checkpoint was {resume_from}")
        while not (run_dir / "latest.pt").exists():
            time.sleep(0.05)
        viewer = Viewer(env)
        seen = viewer.wait(rb"step", 30)
        if not seen:
            trouble.append("the viewer never showed the dashboard")
        victim = rng.choice(["viewer", "trainer", "both"])
        time.sleep(rng.uniform(0.0, args.max_wait))
        before = _rows(run_dir)
        if victim in ("viewer", "both"):
            viewer.kill()
        if victim in ("trainer", "both"):
            os.kill(trainer, signal.SIGKILL)
            _wait(lambda pid=trainer: not _alive(pid), 10)
        listing = _cli(env, "runs").stdout
        if victim == "viewer":
            if not _wait(lambda rows=before: _rows(run_dir) > rows + 5, 10):
                trouble.append("the trainer stopped when its viewer was killed")
            if f"  {NAME}  PID {trainer}" not in listing:
                trouble.append("`runs` does not list the live trainer")
        else:
            if "training now" in listing:
                trouble.append("`runs` shows a killed trainer as live")
            if (run_dir / "live.sock").exists() or lock_held(run_dir):
                trouble.append("the killed trainer left its socket or lock behind")
            if victim == "trainer" and not viewer.wait(rb"ended unexpectedly", 10):
                trouble.append("the viewer did not say its trainer died")
            trainer = None
        viewer.kill()
        status = "ok" if not trouble else "FAILED: " + "; ".join(trouble)
        survived += not trouble
        problems += [f"round {round_no}: {t}" for t in trouble]
        print(f"round {round_no:2d}: killed {victim:7s} at metrics step {before:6d}; {status}", flush=True)
    if trainer is not None and _alive(trainer):
        stop = _cli(env, "stop", NAME)
        print(f"final stop: exit {stop.returncode}: {stop.stdout.strip()}")
    print(f"\nrounds survived: {survived}/{args.rounds}")
    for line in problems:
        print("  " + line)
    return 0 if survived == args.rounds and not problems else 1


class Viewer:
    """``rnn-tui attach`` in a pseudo-terminal."""

    def __init__(self, env):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rnn_tui", "attach", NAME],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def wait(self, needle: bytes, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while needle not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break
        return needle in self.output

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master is not None:
            os.close(self.master)
            self.master = None


def _cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "rnn_tui", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def _rows(run_dir: Path) -> int:
    try:
        return (run_dir / "metrics.jsonl").read_bytes().count(b"\n")
    except OSError:
        return 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


if __name__ == "__main__":
    sys.exit(main())

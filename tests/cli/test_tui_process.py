"""The real app in a pseudo-terminal: a hang-up saves the run and ends the process; every way out asks
whether to stop the training (it runs in a process of its own) and, told to stop, saves it."""

import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from tests.cli.test_cli import TINY
from tests.conftest import PYTHON, REPO, cli_env

pytestmark = pytest.mark.slow


def drain(fd, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                return


@pytest.mark.parametrize("signum,code", [(signal.SIGHUP, 129), (signal.SIGTERM, 143), (None, 129)])
def test_hangup_saves_the_run_and_the_process_exits(runs_home, small_corpus, signum, code):
    master, slave = pty.openpty()
    env = cli_env(runs_home)
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
    env.pop("SSH_CONNECTION", None)  # a local terminal: a hang-up saves and stops the training
    proc = subprocess.Popen(
        [PYTHON, "-m", "rnn_tui", str(small_corpus), "--name", "tui", *TINY],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    os.close(slave)
    metrics = runs_home / "runs" / "tui" / "metrics.jsonl"
    try:
        deadline = time.monotonic() + 60
        while not (metrics.exists() and metrics.stat().st_size > 0):
            assert time.monotonic() < deadline and proc.poll() is None
            drain(master, 0.2)
        if signum is not None:  # None: the terminal just goes away, and no signal reaches the app
            proc.send_signal(signum)
        if signum != signal.SIGTERM:
            os.close(master)  # the connection is gone: nobody reads the terminal any more
            master = None
        else:
            drain(master, 1.0)
        assert proc.wait(timeout=15) == code
    finally:
        if proc.poll() is None:
            proc.kill()
        if master is not None:
            os.close(master)
    from rnn_tui.core.checkpoint import load_checkpoint

    state = load_checkpoint(runs_home / "runs" / "tui" / "latest.pt")
    assert state["step"] > 0
    from rnn_tui.core.live import lock_held

    assert not lock_held(runs_home / "runs" / "tui")  # the trainer process saved and ended too


def test_dumb_terminal_gets_a_clear_line(runs_home, small_corpus):
    master, slave = pty.openpty()
    env = cli_env(runs_home)
    env["TERM"] = "dumb"
    proc = subprocess.Popen(
        [PYTHON, "-m", "rnn_tui", str(small_corpus)], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO
    )
    os.close(slave)
    assert proc.wait(timeout=30) == 2
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    text = output.decode()
    assert "TERM=dumb" in text and "--headless" in text and "Traceback" not in text


# What each key waits to see before the next is sent: a loaded CPU can make a screen late, and a key
# typed before its screen is up goes elsewhere (Enter before the palette has matched picks another entry).
WAIT_FOR = {b"\x10": b"Search for commands", b"save and quit": b"Stop training, save the run"}
QUIT_KEYS = (b"q", b"\x11", b"\x03")  # the first one asks: stop the training, or leave it running


def _read_until(fd, needle, seconds):
    """Read until ``needle`` has been drawn (text only: the escape codes between cells are removed)."""
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end and needle not in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", out):
        out += _read_all(fd, 0.1)
    return out


def _read_all(fd, seconds):
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.parametrize(
    "keys",
    [
        [b"q", b"s"],
        [b"\x11", b"s"],
        [b"\x03", b"s"],
        [b"\x10", b"save and quit", b"\r", b"s"],  # each key waits for the screen it needs (WAIT_FOR)
        [b"q", b"q"],
        [b"q", b"\x03"],
        [b"--in-process", b"q"],
    ],
    ids=["q", "ctrl+q", "ctrl+c", "palette", "q-twice", "q-ctrl+c", "in-process"],
)
def test_every_way_out_saves_the_run_and_says_where(runs_home, small_corpus, keys):
    """ctrl+q and the palette once left training running unseen, with no checkpoint written."""
    master, slave = pty.openpty()
    env = cli_env(runs_home)
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
    options = [k.decode() for k in keys if k.startswith(b"--")]  # the trainer on a thread of the app: q saves
    keys = [k for k in keys if not k.startswith(b"--")]
    proc = subprocess.Popen(
        [PYTHON, "-m", "rnn_tui", str(small_corpus), "--name", "way", *TINY, *options],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    os.close(slave)
    metrics = runs_home / "runs" / "way" / "metrics.jsonl"
    output = b""
    try:
        deadline = time.monotonic() + 60
        while not (metrics.exists() and metrics.stat().st_size > 0):
            assert time.monotonic() < deadline and proc.poll() is None
            output += _read_all(master, 0.2)
        for index, chunk in enumerate(keys):
            os.write(master, chunk)
            asks = chunk in QUIT_KEYS and not any(k in QUIT_KEYS for k in keys[:index]) and not options
            if chunk in WAIT_FOR or asks:
                output += _read_until(master, WAIT_FOR.get(chunk, b"leave it running"), 15)
            else:
                output += _read_all(master, 0.6)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            output += _read_all(master, 0.2)
        assert proc.poll() == 0
        output += _read_all(master, 0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    from rnn_tui.core.checkpoint import load_checkpoint

    state = load_checkpoint(runs_home / "runs" / "way" / "latest.pt")
    assert state["step"] > 0
    tail = output.decode(errors="replace").split("\x1b[?1049l")[-1]  # what stays on screen after the app
    assert f"saved at step {state['step']:,}" in tail
    assert "rnn-tui --resume way" in tail
    assert "Traceback" not in output.decode(errors="replace")
    if not options:
        assert "leave it running" in output.decode(errors="replace")  # the question was asked
    from rnn_tui.core.live import lock_held

    assert not lock_held(runs_home / "runs" / "way")  # nothing goes on training unseen

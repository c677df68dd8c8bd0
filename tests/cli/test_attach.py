"""Training that outlives the terminal: --detach, leave running, attach, stop, kill -9 on either side.

The real command line in subprocesses, the real app in pseudo-terminals.
"""

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from tests.cli.test_cli import TINY
from tests.conftest import PYTHON, REPO, cli_env

ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")
FAST = [*TINY, "--log-every", "1", "--eval-every", "100", "--save-every", "1"]


def cli(home, *args, timeout=60):
    return subprocess.run(
        [PYTHON, "-m", "rnn_tui", *args], capture_output=True, text=True, env=cli_env(home), cwd=REPO, timeout=timeout
    )


class Terminal:
    """A command in a pseudo-terminal of 80x24, as a user's terminal runs it."""

    def __init__(self, home, *args, env=None):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        environment = cli_env(home)
        environment.update(TERM="xterm-256color", **(env or {}))
        if "SSH_CONNECTION" not in (env or {}):
            environment.pop("SSH_CONNECTION", None)  # the hang-up default must not depend on the test machine
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "rnn_tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environment,
            cwd=REPO,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def read(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.output += chunk

    @property
    def text(self) -> str:
        return ANSI.sub(b"", self.output).decode(errors="replace")

    def wait_for(self, pattern, seconds=60):
        deadline = time.monotonic() + seconds
        while not re.search(pattern, self.text):
            assert time.monotonic() < deadline, f"never saw {pattern!r}; last: {self.text[-600:]!r}"
            assert self.proc.poll() is None or re.search(pattern, self.text), self.text[-600:]
            self.read(0.1)
        return re.search(pattern, self.text)

    def keys(self, *chunks, pause=0.5):
        for chunk in chunks:
            os.write(self.master, chunk)
            self.read(pause)

    def finish(self, seconds=20) -> int:
        deadline = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        self.read(0.3)
        return self.proc.poll()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def live(home, name):
    path = home / "runs" / name / "live.json"
    return json.loads(path.read_text()) if path.exists() else None


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def logged_steps(home, name) -> int:
    try:
        lines = (home / "runs" / name / "metrics.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return 0
    return len(lines)


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for us
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def cleanup():
    pids = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def detached(home, corpus, name, cleanup, *extra):
    proc = cli(home, str(corpus), "--detach", "--name", name, *FAST, *extra)
    assert proc.returncode == 0, proc.stderr
    info = live(home, name)
    cleanup.append(info["pid"])
    return proc, info


def test_detach_prints_the_name_and_stop_saves_it(runs_home, small_corpus, cleanup):
    proc, info = detached(runs_home, small_corpus, "bg", cleanup)
    assert proc.stdout == "bg\n"  # the name alone: NAME=$(rnn-tui corpus.txt --detach)
    assert (
        f"PID {info['pid']}" in proc.stderr and "rnn-tui attach bg" in proc.stderr and "rnn-tui stop bg" in proc.stderr
    )
    wait_for(lambda: logged_steps(runs_home, "bg") > 20)
    listing = cli(runs_home, "runs")
    assert re.search(rf"^  bg  PID {info['pid']}  since .*steps/s  \(rnn-tui attach bg\)$", listing.stdout, re.M), (
        listing.stdout
    )
    stopped = cli(runs_home, "stop", "bg")
    assert stopped.returncode == 0, stopped.stderr
    from rnn_tui.core.checkpoint import load_checkpoint

    step = load_checkpoint(runs_home / "runs" / "bg" / "latest.pt")["step"]
    assert f"bg saved at step {step:,} and stopped" in stopped.stdout
    wait_for(lambda: not alive(info["pid"]), 10)
    assert "training now" not in cli(runs_home, "runs").stdout
    assert not (runs_home / "runs" / "bg" / "live.sock").exists() and live(runs_home, "bg") is None
    assert "finished at step" in (runs_home / "runs" / "bg" / "trainer.log").read_text()
    again = cli(runs_home, "stop", "bg")
    assert again.returncode == 0 and "not training" in again.stderr


def test_kill_9_of_the_trainer_is_shown_stopped_and_the_run_resumes(runs_home, small_corpus, cleanup):
    _, info = detached(runs_home, small_corpus, "k9", cleanup)
    wait_for(lambda: (runs_home / "runs" / "k9" / "latest.pt").exists() and logged_steps(runs_home, "k9") > 20)
    os.kill(info["pid"], signal.SIGKILL)
    wait_for(lambda: not alive(info["pid"]), 10)
    listing = cli(runs_home, "runs")
    assert listing.returncode == 0 and "training now" not in listing.stdout and "k9" in listing.stdout
    assert not (runs_home / "runs" / "k9" / "live.sock").exists()  # the leftovers were cleaned
    refused = cli(runs_home, "attach", "k9")
    assert refused.returncode == 2 and "k9 is not training" in refused.stderr and "--resume k9" in refused.stderr
    resumed = cli(runs_home, "--resume", "k9", "--headless", "--max-steps", "100000", "--max-time", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed k9 at step" in resumed.stdout


def test_leave_running_then_attach_shows_the_history_and_the_steps_go_on(runs_home, small_corpus, cleanup):
    quiet = [*TINY, "--log-every", "1", "--eval-every", "100000", "--save-every", "60"]  # status line stays put
    app = Terminal(runs_home, str(small_corpus), "--name", "left", *quiet)
    try:
        app.wait_for(r"step\s+[1-9]")
        app.keys(b"q")
        app.wait_for(r"leave it running")
        app.keys(b"l")
        assert app.finish() == 0
        assert "run left goes on training in the background" in app.text and "rnn-tui attach left" in app.text
    finally:
        app.close()
    info = live(runs_home, "left")
    cleanup.append(info["pid"])
    assert alive(info["pid"])
    logged = logged_steps(runs_home, "left")
    wait_for(lambda: logged_steps(runs_home, "left") > logged)  # it trains with nobody watching

    viewer = Terminal(runs_home, "attach", "le")  # a unique start of the name is enough
    try:
        history = viewer.wait_for(r"([\d,]+) losses and [\d,]+\s+validations?\s+from\s+metrics\.jsonl")
        assert int(history.group(1).replace(",", "")) >= logged
        first = int(viewer.wait_for(r"step\s+([\d,]+)").group(1).replace(",", ""))
        deadline = time.monotonic() + 30
        while max(int(s.replace(",", "")) for s in re.findall(r"step\s+([\d,]+)", viewer.text)) <= first:
            assert time.monotonic() < deadline
            viewer.read(0.2)
        deadline = time.monotonic() + 30  # the gate view on the trainer's newest weights and validation text
        while "validation text" not in viewer.text:
            assert time.monotonic() < deadline, viewer.text[-600:]
            viewer.keys(b"g", pause=1.0)
        viewer.keys(b"\x1b")
        viewer.keys(b"q")
        viewer.wait_for(r"stop training")
        viewer.keys(b"s")
        assert viewer.finish() == 0
        assert re.search(r"run left saved at step [\d,]+ \(quit", viewer.text)
    finally:
        viewer.close()
    wait_for(lambda: not alive(info["pid"]), 10)


def test_a_killed_viewer_leaves_the_training_going(runs_home, small_corpus, cleanup):
    app = Terminal(runs_home, str(small_corpus), "--name", "orphan", *FAST)
    try:
        app.wait_for(r"step\s+[1-9]")
        info = live(runs_home, "orphan")
        cleanup.append(info["pid"])
        os.kill(app.proc.pid, signal.SIGKILL)
        app.proc.wait()
    finally:
        app.close()
    logged = logged_steps(runs_home, "orphan")
    wait_for(lambda: logged_steps(runs_home, "orphan") > logged + 20)
    assert alive(info["pid"])
    assert cli(runs_home, "stop", "orphan").returncode == 0


def test_a_viewer_whose_trainer_dies_says_so_and_how_to_resume(runs_home, small_corpus, cleanup):
    app = Terminal(runs_home, str(small_corpus), "--name", "dies", *FAST)
    try:
        app.wait_for(r"step\s+[1-9]")
        pid = live(runs_home, "dies")["pid"]
        cleanup.append(pid)
        os.kill(pid, signal.SIGKILL)
        app.wait_for(r"training process ended unexpectedly")
        app.keys(b"q")  # nothing trains now: q quits at once
        assert app.finish() == 0
        assert "rnn-tui --resume dies" in app.text.split("training process ended")[-1]
    finally:
        app.close()


def test_a_hang_up_with_continue_leaves_the_training_going(runs_home, small_corpus, cleanup):
    app = Terminal(runs_home, str(small_corpus), "--name", "hup", "--on-hangup", "continue", *FAST)
    try:
        app.wait_for(r"step\s+[1-9]")
        info = live(runs_home, "hup")
        cleanup.append(info["pid"])
        app.proc.send_signal(signal.SIGHUP)
        assert app.finish() == 129
    finally:
        app.close()
    logged = logged_steps(runs_home, "hup")
    wait_for(lambda: logged_steps(runs_home, "hup") > logged)
    assert cli(runs_home, "stop", "hup").returncode == 0


def test_bad_input_is_one_line_before_anything_starts(runs_home, small_corpus, tmp_path):
    from tests.cli.test_cli import assert_clear_error

    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 20)
    assert_clear_error(cli(runs_home, str(binary), "--detach", *TINY), "ELF")
    assert_clear_error(cli(runs_home, str(small_corpus), "--detach", "--headless"), "pick one")
    assert_clear_error(cli(runs_home, "attach"), "no run is training now")
    assert_clear_error(cli(runs_home, "attach", "nope"), "no such run")
    assert_clear_error(cli(runs_home, "stop", "nope"), "no such run")
    assert not (runs_home / "runs").exists() or not any((runs_home / "runs").iterdir())  # nothing was written


def test_attach_without_a_terminal_is_one_line(runs_home, small_corpus, cleanup):
    from tests.cli.test_cli import assert_clear_error

    detached(runs_home, small_corpus, "noterm", cleanup)
    assert_clear_error(cli(runs_home, "attach", "noterm"), "needs a terminal", "trainer.log")
    assert cli(runs_home, "stop", "noterm").returncode == 0


def steps_shown(term) -> list[int]:
    return [int(s.replace(",", "")) for s in re.findall(r"step\s+([\d,]+)", term.text)]


def test_two_viewers_and_one_quits_the_other_keeps_its_live_view(runs_home, small_corpus, cleanup):
    _, info = detached(runs_home, small_corpus, "two", cleanup)
    first, second = Terminal(runs_home, "attach", "two"), Terminal(runs_home, "attach", "two")
    try:
        for term in (first, second):
            term.wait_for(r"step\s+[1-9]")
        first.keys(b"q")
        first.wait_for(r"leave it running")
        first.keys(b"l")
        assert first.finish() == 0 and "run two goes on training" in first.text
        second.output = b""  # only what it draws from now on
        second.wait_for(r"step\s+[1-9]")
        seen = steps_shown(second)
        deadline = time.monotonic() + 30
        while max(steps_shown(second)) <= min(seen):
            assert time.monotonic() < deadline and second.proc.poll() is None
            second.read(0.2)
    finally:
        first.close()
        second.close()
    assert alive(info["pid"])
    assert cli(runs_home, "stop", "two").returncode == 0


def test_a_trainer_that_cannot_start_ends_the_app_with_the_command_line_s_one_line(runs_home, tmp_path):
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 20)
    headless = cli(runs_home, str(binary), "--headless", *TINY)
    app = Terminal(runs_home, str(binary), *TINY)
    try:
        assert app.finish(60) == 2
    finally:
        app.close()
    line = headless.stderr.strip()
    assert line.startswith("rnn-tui: error:") and "ELF" in line
    after = app.output.decode(errors="replace").split("\x1b[?1049l")[-1]  # what stays once the app is gone
    assert " ".join(line.split()) in " ".join(ANSI.sub(b"", after.encode()).decode().split())
    assert "Traceback" not in app.text

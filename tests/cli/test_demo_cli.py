"""`rnn-tui --demo NAME` through the real entry point."""

import json
import subprocess

import pytest

from tests.conftest import PYTHON, REPO, cli_env


def rnn_tui(home, *args, timeout=180):
    return subprocess.run(
        [PYTHON, "-m", "rnn_tui", *args], capture_output=True, text=True, env=cli_env(home), cwd=REPO, timeout=timeout
    )


def only_run(home):
    runs = sorted((home / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--demo", "hello", "notes.txt", "--headless"], "--demo and a corpus file: pick one"),
        (["--demo", "hello", "--resume", "some-run", "--headless"], "--demo and --resume: pick one"),
        (["--demo", "nope", "--headless"], "invalid choice: 'nope'"),
    ],
)
def test_a_demo_with_a_conflicting_option_is_one_line_and_exit_2(runs_home, args, needle):
    proc = rnn_tui(runs_home, *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error:") and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (runs_home / "runs").exists()


def test_the_python_demo_builds_its_corpus_and_trains(runs_home):
    proc = rnn_tui(
        runs_home, "--demo", "python", "--headless", "--max-steps", "5", "--hidden-size", "16", "--eval-chars", "2000"
    )
    assert proc.returncode == 0, proc.stderr
    run = only_run(runs_home)
    assert run.name.startswith("python-lstm-") and (run / "latest.pt").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["hidden_size"] == 16 and config["train"]["seq_len"] == 192  # yours, then the demo's
    assert config["corpus"]["path"].startswith(str(runs_home / "demos" / "python-stdlib-"))


def test_the_hello_demo_trains_with_its_own_settings(runs_home):
    proc = rnn_tui(runs_home, "--demo", "hello", "--headless", "--max-steps", "3")
    assert proc.returncode == 0, proc.stderr
    run = only_run(runs_home)
    assert run.name.startswith("hello-rnn-") and (run / "latest.pt").is_file()
    train = json.loads((run / "config.json").read_text())["train"]
    assert (train["cell"], train["layers"], train["hidden_size"], train["max_steps"]) == ("rnn", 1, 8, 3)
    assert "vocab 4," in proc.stdout

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "corpora"
DEMO = REPO / "rnn_tui" / "data" / "shakespeare_tragedies.txt"


@pytest.fixture(autouse=True)
def runs_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("RNN_TUI_HOME", str(home))
    return home


STARTED_TRAINERS: list = []  # every Trainer the running test made (see every_trainer_recorded)


@pytest.fixture(autouse=True)
def every_trainer_recorded(monkeypatch):
    """A trainer thread left training keeps a test's event loop from closing (it waits for its
    threads) and the worker hangs. Every Trainer a test makes is recorded; the teardown hook below
    stops any left training before the test's fixtures (its event loop among them) are torn down."""
    from rnn_tui.core import trainer as trainer_mod

    STARTED_TRAINERS.clear()
    real_init = trainer_mod.Trainer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        STARTED_TRAINERS.append(self)

    monkeypatch.setattr(trainer_mod.Trainer, "__init__", init)
    yield
    stop_left_trainers()


def stop_left_trainers() -> None:
    """A test may end with its app's run training (the app's own exit path, which stops it, is not run
    by Pilot): stop it and wait, so the thread is gone before the event loop closes."""
    left = [t for t in STARTED_TRAINERS if not t.finished.is_set()]
    STARTED_TRAINERS.clear()
    for trainer in left:
        trainer.request_stop("test over")  # one not started yet stops at its first step
    for trainer in left:
        if trainer.running:
            trainer.finished.wait(60)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    stop_left_trainers()  # before any fixture teardown: pytest-asyncio's loop waits for the trainer threads


@pytest.fixture
def small_text() -> str:
    """About 60 KB of real English (the start of the demo corpus)."""
    return DEMO.read_text(encoding="utf-8")[:60_000]


@pytest.fixture
def small_corpus(tmp_path, small_text) -> Path:
    path = tmp_path / "small.txt"
    path.write_text(small_text, encoding="utf-8")
    return path


def tiny_config(**changes):
    from rnn_tui.core.config import TrainConfig

    base = dict(
        cell="lstm",
        layers=1,
        hidden_size=32,
        embed_size=16,
        dropout=0.0,
        seq_len=32,
        batch_size=8,
        eval_every=20,
        log_every=1,
        sample_every=0,
        save_every=0,
        precision="fp32",
        device="cpu",
        warmup_steps=5,
        threads=2,
    )
    base.update(changes)
    return TrainConfig(**base)


def cli_env(home: Path) -> dict:
    env = dict(os.environ)
    env["RNN_TUI_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("COLUMNS", None)
    return env


PYTHON = sys.executable

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

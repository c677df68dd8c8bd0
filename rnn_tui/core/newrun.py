"""What the new-run form shows beside its fields: size, memory, expected speed, the command line.

Pure arithmetic over a ``TrainConfig``, plus the speeds earlier runs on this machine logged, so the
form can say what to expect before anything is built. The form itself is ui/screens/new_run.py.
"""

from __future__ import annotations

import json
import shlex
import statistics
from dataclasses import dataclass, fields
from pathlib import Path

from rnn_tui.core.compare import parameter_count
from rnn_tui.core.config import TrainConfig

# Fields the form offers, in its order; the rest keep their defaults (and so stay off the command line).
FORM_FIELDS = (
    "cell",
    "layers",
    "hidden_size",
    "embed_size",
    "dropout",
    "seq_len",
    "batch_size",
    "lr",
    "max_steps",
    "max_time",
    "epochs",
    "seed",
    "precision",
    "device",
)
SPEED_KEYS = ("cell", "layers", "hidden_size", "embed_size", "seq_len", "batch_size")


@dataclass(frozen=True)
class Estimate:
    parameters: int
    memory_bytes: int  # weights, gradients, AdamW's two moments and one step's activations (fp32)
    chars_per_sec: float | None  # the median logged by earlier runs of this shape here, if any
    speed_from: int = 0  # how many runs that median comes from


def estimate(config: TrainConfig, vocab_size: int, runs_root: Path | None = None) -> Estimate:
    params = parameter_count(config.cell, vocab_size, config.embed_size, config.hidden_size, config.layers)
    blocks = {"rnn": 1, "gru": 3, "lstm": 4}.get(config.cell, 4)
    # Saved per time step and layer for the backward pass: the gates and the state (a rough upper bound).
    activations = (
        config.batch_size
        * config.seq_len
        * (config.layers * config.hidden_size * (blocks + 2) + config.embed_size + 2 * vocab_size)
    )
    memory = 4 * (4 * params + activations)
    speed, count = known_speed(config, runs_root) if runs_root is not None else (None, 0)
    return Estimate(params, memory, speed, count)


def known_speed(config: TrainConfig, runs_root: Path, limit: int = 50) -> tuple[float | None, int]:
    """The median chars/s that earlier runs with this shape logged (their last rows), or None."""
    wanted = {k: getattr(config, k) for k in SPEED_KEYS}
    speeds = []
    try:
        folders = sorted(runs_root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    except OSError:
        return None, 0
    for folder in folders:
        try:
            train = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("train", {})
            if any(train.get(k) != v for k, v in wanted.items()):
                continue
            speed = _last_speed(folder / "metrics.jsonl")
        except (OSError, ValueError, AttributeError):
            continue
        if speed:
            speeds.append(speed)
    return (statistics.median(speeds), len(speeds)) if speeds else (None, 0)


def _last_speed(metrics: Path) -> float | None:
    """chars/s from the end of a metrics file (reads at most its last 64 KB)."""
    with open(metrics, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        lines = fh.read().splitlines()[1:] if size > 65536 else fh.read().splitlines()
    rates = []
    for line in lines[-20:]:
        try:
            rate = json.loads(line).get("chars_per_sec")
        except ValueError:
            continue
        if isinstance(rate, (int, float)) and rate > 0:
            rates.append(float(rate))
    return statistics.median(rates) if rates else None


def command_line(corpus: str | None, demo: str | None, config: TrainConfig, name: str | None = None) -> str:
    """The ``rnn-tui …`` line that starts the same run: only what differs from the defaults."""
    defaults = TrainConfig()
    words = ["rnn-tui"]
    if demo:
        words += ["--demo", demo]
    elif corpus:
        words.append(corpus)
    if name:
        words += ["--name", name]
    by_name = {f.name: f for f in fields(TrainConfig)}
    for key in FORM_FIELDS:
        value = getattr(config, key)
        if key not in by_name or value == getattr(defaults, key) or value is None:
            continue
        words += [f"--{key.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(words)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"

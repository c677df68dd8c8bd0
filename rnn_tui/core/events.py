"""Frozen records the trainer emits to whatever face is listening.

They carry plain values and immutable tuples only, so a face may keep them
without copying and the trainer never shares a mutable list with a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Started:
    run_dir: str
    run_name: str
    config: dict
    parameters: int
    device: str
    device_name: str
    precision: str
    vocab_size: int
    train_chars: int
    val_chars: int
    steps_per_epoch: int
    start_step: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress:
    """Losses since the last report plus the latest state; sent a few times a second."""

    step: int
    epoch: int
    epoch_fraction: float
    losses: tuple[tuple[int, float], ...]  # (step, train loss) for each step since the last report
    chars_per_sec: float
    lr: float
    grad_norm: float
    elapsed: float
    eta: float | None  # seconds to the stop condition, None when open-ended
    chars_seen: int
    skipped_steps: int
    memory: tuple[int, int] | None = None  # GPU bytes (used, total)
    threads: int | None = None  # CPU threads training uses now (the thread tuner may change it)


@dataclass(frozen=True)
class EvalResult:
    step: int
    val_loss: float
    best_val_loss: float
    is_best: bool


@dataclass(frozen=True)
class Sample:
    step: int
    text: str
    temperature: float


@dataclass(frozen=True)
class Saved:
    step: int
    path: str
    kind: str  # "latest" or "best"
    reason: str  # "autosave", "request", "best", "final"


@dataclass(frozen=True)
class Snapshot:
    """A CPU copy of the weights for sampling and tracing off the trainer thread."""

    step: int
    config: dict
    vocab: str
    weights: Any = field(repr=False)  # dict[str, Tensor], never written to after publication


@dataclass(frozen=True)
class Notice:
    level: str  # "info", "warning", "error"
    message: str


@dataclass(frozen=True)
class StateChanged:
    state: str  # "running" or "paused"


@dataclass(frozen=True)
class Finished:
    step: int
    reason: str  # "max_steps", "max_time", "epochs", "stopped", "signal"
    run_dir: str
    checkpoint: str | None
    best_val_loss: float | None


@dataclass(frozen=True)
class Failed:
    step: int
    message: str
    advice: str
    run_dir: str | None
    checkpoint: str | None
    log_path: str | None = None


@dataclass(frozen=True)
class CompareStarted:
    """A compared run is about to start: run ``index + 1`` of ``total``, with this cell."""

    index: int
    total: int
    cell: str


@dataclass(frozen=True)
class CompareMeasured:
    """Gradient decay at distance 50 for a compared cell's final weights; ``cell`` None when all are done."""

    cell: str | None
    decay: float | None


@dataclass(frozen=True)
class LearningRateChanged:
    """A ScaleLearningRate took effect; metrics.jsonl marks ``step``'s row with ``lr_change``."""

    step: int  # the first step trained with the new rate (trainer.step + 1 at the time)
    lr: float  # the new learning rate at that step
    factor: float  # the factor just applied (after any clamp to --lr's limits)
    scale: float  # the cumulative user scale now in force

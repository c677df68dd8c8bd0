"""Training and sampling settings, validated in one place.

The faces (CLI, TUI) build these from user input; every check names the flag
the user typed so the error line tells them what to change.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from rnn_tui.core.errors import ConfigError

CELLS = ("rnn", "lstm", "gru")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# Settings that define the network; a resumed run must match them.
ARCHITECTURE_FIELDS = ("cell", "layers", "hidden_size", "embed_size")

MAX_SEED = 2**63 - 1
MAX_PARAMETERS = 1_000_000_000  # 16 GB with gradients and AdamW's two moments: past any char-RNN
MAX_TRACE_CHARS = 20_000  # what one gate trace reads: every gate of every unit is kept per character
# Upper bounds that catch a typo (an extra zero, 1e300) before it becomes an overflow or an hours-long build.
LIMITS = {
    "layers": 1000,
    "hidden_size": 65536,
    "embed_size": 65536,
    "seq_len": 1_000_000,
    "batch_size": 1_000_000,
    "threads": 4096,
    "warmup_steps": 10**12,
    "max_steps": 10**15,
    "eval_every": 10**12,
    "log_every": 10**12,
    "eval_chars": 10**12,
    "sample_length": 1_000_000,
}
GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}  # rows of W_ih / W_hh per hidden unit (torch's layouts)


@dataclass(frozen=True)
class TrainConfig:
    cell: str = "lstm"
    layers: int = 2
    hidden_size: int = 256
    embed_size: int = 64
    dropout: float = 0.1
    seq_len: int = 128
    batch_size: int = 64
    lr: float = 4e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    lr_decay: float = 0.9  # multiplied in once per epoch, as char-rnn does
    grad_clip: float = 5.0
    max_steps: int | None = None
    max_time: float | None = None
    epochs: float | None = None
    val_frac: float = 0.1
    eval_every: int = 250
    eval_chars: int = 200_000  # cap on validation characters per evaluation
    log_every: int = 10
    sample_every: float = 5.0  # seconds between live samples (0 = never)
    sample_length: int = 200
    sample_temperature: float = 0.8
    save_every: float = 300.0  # seconds between autosaves (0 = only at the end)
    seed: int = 1337
    device: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    encoding: str | None = None
    compile: bool = False  # torch.compile around the fused recurrent kernels: measured no gain (BENCHMARKS.md)

    def validated(self) -> TrainConfig:
        """Return self if every value is usable, else raise ConfigError naming the flag."""
        if self.cell not in CELLS:
            raise ConfigError(f"--cell {self.cell!r} is not a cell; choose one of {', '.join(CELLS)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision {self.precision!r} is unknown; choose one of {', '.join(PRECISIONS)}")
        for name in (
            "layers",
            "hidden_size",
            "embed_size",
            "seq_len",
            "batch_size",
            "log_every",
            "eval_every",
            "sample_length",
        ):
            _positive_int(name, getattr(self, name))
        _positive_int("warmup_steps", self.warmup_steps, allow_zero=True)
        if self.max_steps is not None:
            _positive_int("max_steps", self.max_steps)
        if self.eval_chars is not None:
            _positive_int("eval_chars", self.eval_chars)
        if self.threads is not None:
            _positive_int("threads", self.threads)
        self._check_size()
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if value is not None and value > limit:
                raise ConfigError(f"{flag(name)} must be at most {limit:,} (got {value:,})")
        _seed("seed", self.seed)
        _finite("lr", self.lr, low=0.0, low_open=True, high=10.0)
        _finite("weight_decay", self.weight_decay, low=0.0, high=100.0)
        _finite("lr_decay", self.lr_decay, low=0.0, low_open=True, high=1.0)
        _finite("grad_clip", self.grad_clip, low=0.0, low_open=True, high=1e9)
        _finite("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        _finite("val_frac", self.val_frac, low=0.0, high=1.0, high_open=True)
        _finite("sample_every", self.sample_every, low=0.0)
        _finite("save_every", self.save_every, low=0.0)
        _finite("sample_temperature", self.sample_temperature, low=0.0)
        if self.max_time is not None:
            _finite("max_time", self.max_time, low=0.0, low_open=True)
        if self.epochs is not None:
            _finite("epochs", self.epochs, low=0.0, low_open=True)
        return self

    def _check_size(self) -> None:
        """Refuse a model too big to build before any memory is spent on it, with an estimate."""
        count = parameter_estimate(self.cell, self.embed_size, self.hidden_size, self.layers)
        if count > MAX_PARAMETERS:
            raise ConfigError(
                f"--layers {self.layers} --hidden-size {self.hidden_size} --embed-size {self.embed_size}: about "
                f"{_count(count)} parameters (about {count * 16 / 1e9:,.0f} GB with gradients and optimizer state), "
                f"more than the {_count(MAX_PARAMETERS)} allowed; lower --layers or --hidden-size"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_changes(self, **changes) -> TrainConfig:
        return replace(self, **changes)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parameter_estimate(cell: str, embed: int, hidden: int, layers: int, vocab: int = 256) -> int:
    """Weights of a CharRNN (vocab assumed 256 before the corpus is read)."""
    blocks = GATE_BLOCKS.get(cell, 4)
    first = blocks * hidden * (embed + hidden + 2)
    rest = blocks * hidden * (2 * hidden + 2) * (layers - 1)
    return vocab * embed + first + rest + hidden * vocab + vocab


def _count(value: float) -> str:
    for unit, size in (("billion", 1e9), ("million", 1e6)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,.0f}"


def _seed(name: str, value) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        shown = f"{value}" if len(f"{value}") <= 30 else f"{str(value)[:30]}..."
        raise ConfigError(f"{flag(name)} must be a whole number from 0 to 2**63-1 (got {shown})")


def _positive_int(name: str, value, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{flag(name)} must be an integer >= {low} (got {value!r})")


def _finite(name, value, low=None, high=None, low_open=False, high_open=False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        if low is not None and high is None:
            rng = f"> {low:g}" if low_open else f">= {low:g}"
        else:
            rng = f"in {lo}, {hi}"
        raise ConfigError(f"{flag(name)} must be a finite number {rng} (got {value!r})")


@dataclass(frozen=True)
class SampleConfig:
    prime: str = "\n"
    length: int = 500
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False
    seed: int | None = None

    MAX_LENGTH = 1_000_000

    def validated(self) -> SampleConfig:
        _positive_int("length", self.length)
        if self.length > self.MAX_LENGTH:
            raise ConfigError(
                f"--length must be at most {self.MAX_LENGTH:,} (got {self.length:,}); sample in parts with --prime"
            )
        _finite("temperature", self.temperature, low=0.0)
        if self.top_k is not None:
            _positive_int("top_k", self.top_k)
        if self.top_p is not None:
            _finite("top_p", self.top_p, low=0.0, low_open=True, high=1.0)
        _seed("seed", self.seed)
        return self

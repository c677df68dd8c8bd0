"""Train several cells on the same corpus, budget and seed, and compare them.

Each compared run is an ordinary saved run (named ``NAME-CELL``), so sampling,
gates and resume work on it. ``CompareCollector`` turns the trainer's events
into the comparison table rows for either face.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnn_tui.core import events as ev
from rnn_tui.core.config import CELLS, GATE_BLOCKS
from rnn_tui.core.errors import ConfigError


def parse_cells(text: str) -> list[str]:
    cells = [c.strip().lower() for c in text.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELLS]
    if bad or len(cells) < 2 or len(set(cells)) != len(cells):
        raise ConfigError(
            f"--compare {text!r}: give two or three different cells from {', '.join(CELLS)}, e.g. rnn,lstm,gru"
        )
    return cells


def parameter_count(cell: str, vocab: int, embed: int, hidden: int, layers: int) -> int:
    blocks = GATE_BLOCKS[cell]
    total = vocab * embed + hidden * vocab + vocab
    for layer in range(layers):
        inputs = embed if layer == 0 else hidden
        total += blocks * hidden * (inputs + hidden + 2)
    return total


def matched_hidden_size(cell: str, target: int, vocab: int, embed: int, layers: int) -> int:
    """The hidden size whose parameter count is closest to ``target``."""
    low, high = 1, 1
    while parameter_count(cell, vocab, embed, high, layers) < target:
        high *= 2
    while low < high:
        mid = (low + high) // 2
        if parameter_count(cell, vocab, embed, mid, layers) < target:
            low = mid + 1
        else:
            high = mid
    candidates = [h for h in (low - 1, low) if h >= 1]
    return min(candidates, key=lambda h: abs(parameter_count(cell, vocab, embed, h, layers) - target))


def plan(cells: list[str], config, vocab_size: int, match_params: bool) -> list[tuple[str, dict]]:
    """(cell, overrides) per compared run."""
    anchor = "lstm" if "lstm" in cells else cells[0]
    target = parameter_count(anchor, vocab_size, config.embed_size, config.hidden_size, config.layers)
    out = []
    for cell in cells:
        hidden = config.hidden_size
        if match_params and cell != anchor:
            hidden = matched_hidden_size(cell, target, vocab_size, config.embed_size, config.layers)
        out.append((cell, {"cell": cell, "hidden_size": hidden}))
    return out


@dataclass
class CompareRow:
    cell: str
    run_name: str = ""
    run_dir: str = ""
    parameters: int = 0
    hidden_size: int = 0
    chars: int = 0
    seconds: float = 0.0
    best_val_loss: float | None = None
    decay_50: float | None = None
    curve: list = field(default_factory=list)  # (step, train loss)
    val_curve: list = field(default_factory=list)

    @property
    def chars_per_sec(self) -> float:
        return self.chars / self.seconds if self.seconds > 0 else 0.0


class CompareCollector:
    """Feed it every trainer event of every compared run, in order."""

    def __init__(self) -> None:
        self.rows: list[CompareRow] = []

    @property
    def current(self) -> CompareRow | None:
        return self.rows[-1] if self.rows else None

    def handle(self, event) -> None:
        if isinstance(event, ev.Started):
            self.rows.append(
                CompareRow(
                    event.config["cell"], event.run_name, event.run_dir, event.parameters, event.config["hidden_size"]
                )
            )
            self._last_elapsed = None
            return
        row = self.current
        if row is None:
            return
        if isinstance(event, ev.Progress) and event.losses:
            row.curve.extend(event.losses)
            row.chars = event.chars_seen
            row.seconds = event.elapsed
        elif isinstance(event, ev.EvalResult):
            row.val_curve.append((event.step, event.val_loss))
            row.best_val_loss = event.best_val_loss

    def measure_decay(self, snapshot, text_ids, distance: int = 50) -> None:
        from rnn_tui.core.gradflow import decay, gradient_flow_for

        if self.current is None or text_ids is None or text_ids.numel() < 3:
            return
        flow = gradient_flow_for(snapshot.config, snapshot.vocab, snapshot.weights, text_ids, with_initial=False)
        self.current.decay_50 = decay(flow, min(distance, len(flow.distance) - 1))


def table_lines(rows: list[CompareRow]) -> list[str]:
    header = ("cell", "hidden", "params", "chars/s", "best val", "grad @50")
    body = [
        (
            r.cell,
            str(r.hidden_size),
            f"{r.parameters:,}",
            f"{r.chars_per_sec:,.0f}",
            "-" if r.best_val_loss is None else f"{r.best_val_loss:.4f}",
            "-" if r.decay_50 is None else f"{r.decay_50:.1e}",
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header] + body) for i in range(len(header))]
    return [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
        for line in [header] + body
    ]

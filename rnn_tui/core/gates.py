"""Every gate, character by character, recomputed from the trained parameters.

Training uses torch's fused recurrent kernels, which do not expose their
gates. ``trace`` gets each layer's hidden states from the fused kernel itself
(one single-layer call per layer, on the very same parameters), then
recomputes every gate at every position from them with torch's layouts (LSTM
rows i, f, g, o; GRU rows r, z, n): given h_{t-1} for all t, the gates are
one matrix product per layer, and only the LSTM cell state needs a loop
(c_t = f*c_{t-1} + i*g, elementwise). Tests hold the recomputation to the
fused module: o*tanh(c) and (1-z)*n + z*h_{t-1} give back its h within 1e-5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from rnn_tui.core.cells import layer_params

if TYPE_CHECKING:
    from rnn_tui.core.corpus import Vocab
    from rnn_tui.core.model import CharRNN

State = Tensor | tuple[Tensor, Tensor] | None  # the recurrent state a trace starts from: h, or (h, c)


GATES = {
    "lstm": ("i", "f", "g", "o", "c", "h"),
    "gru": ("r", "z", "n", "h"),
    "rnn": ("h",),
}
GATE_NAMES = {
    "i": "input gate",
    "f": "forget gate",
    "g": "candidate",
    "o": "output gate",
    "c": "cell state",
    "h": "hidden state",
    "r": "reset gate",
    "z": "update gate (share of the old state kept)",
    "n": "candidate",
}
SIGMOID_GATES = {"i", "f", "o", "r", "z"}  # values in (0, 1); the rest are in (-1, 1) (c shown as tanh(c))


@dataclass(frozen=True)
class GateTrace:
    cell: str
    chars: tuple[str, ...]
    layers: tuple[dict, ...]  # per layer: gate name -> tensor (positions, hidden)
    top: tuple[tuple[tuple[str, float], ...], ...]  # per position: the model's top next-character guesses
    probs: torch.Tensor  # (positions, vocab): next-character distribution

    @property
    def gates(self) -> tuple[str, ...]:
        return GATES[self.cell]

    @property
    def hidden_size(self) -> int:
        return self.layers[0]["h"].shape[1]

    def to_json(self) -> dict:
        return {
            "cell": self.cell,
            "chars": list(self.chars),
            "layers": [{name: values.tolist() for name, values in layer.items()} for layer in self.layers],
            "top": [[[ch, p] for ch, p in row] for row in self.top],
        }


@torch.inference_mode()
def trace(model: CharRNN, vocab: Vocab, text: str, top: int = 5, state: State = None) -> GateTrace:
    """Run ``text`` through ``model`` and return every gate at every position."""
    from rnn_tui.core.sampling import check_prime

    check_prime(vocab, text, what="the text")
    model = model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([vocab.index[ch] for ch in text], dtype=torch.long, device=device)
    x = model.embed(ids).float()
    rnn, cell, hidden = model.rnn, model.cell, model.hidden_size
    layers = []
    for layer in range(rnn.num_layers):
        w_ih, w_hh, b_ih, b_hh = layer_params(rnn, layer)
        h0, c0 = _initial(state, layer, hidden, device)
        h = _fused_layer(cell, rnn, w_ih, w_hh, b_ih, b_hh, x, h0, c0)
        h_prev = torch.cat([h0[None], h[:-1]])
        x_proj = torch.addmm(b_ih, x, w_ih.T)  # W_ih x_t + b_ih for every t
        h_proj = torch.addmm(b_hh, h_prev, w_hh.T)  # W_hh h_{t-1} + b_hh for every t
        if cell == "lstm":
            i, f, g, o = (x_proj + h_proj).split(hidden, dim=1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            values = {"i": i, "f": f, "g": g, "o": o, "c": _cell_states(i, f, g, c0), "h": h}
        elif cell == "gru":
            x_r, x_z, x_n = x_proj.split(hidden, dim=1)
            h_r, h_z, h_n = h_proj.split(hidden, dim=1)
            r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
            values = {"r": r, "z": z, "n": (x_n + r * h_n).tanh(), "h": h}
        else:
            values = {"h": h}
        layers.append(values)
        x = h  # dropout is off at inference, as in the fused module's eval mode
    logits = model.head(x).float()
    probs = torch.softmax(logits, dim=-1)
    k = min(top, probs.shape[1])
    top_probs, top_indices = torch.topk(probs, k, dim=-1)
    chars = vocab.chars
    guesses = tuple(
        tuple((chars[i], p) for i, p in zip(ri, rv)) for ri, rv in zip(top_indices.tolist(), top_probs.tolist())
    )
    return GateTrace(
        cell, tuple(text), tuple({k: v.cpu() for k, v in layer.items()} for layer in layers), guesses, probs.cpu()
    )


def _initial(state: State, layer: int, hidden: int, device: torch.device) -> tuple[Tensor, Tensor]:
    zeros = torch.zeros(hidden, device=device)
    if state is None:
        return zeros, zeros
    if isinstance(state, tuple):
        return state[0][layer, 0].float(), state[1][layer, 0].float()
    return state[layer, 0].float(), zeros


def _fused_layer(
    cell: str,
    rnn: torch.nn.RNNBase,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
) -> Tensor:
    """This layer's hidden state at every position, from torch's fused kernel on the same weights."""
    from rnn_tui.core.model import RNN_CLASSES

    extra = {"nonlinearity": rnn.nonlinearity} if cell == "rnn" else {}
    single = RNN_CLASSES[cell](w_ih.shape[1], w_hh.shape[1], 1, **extra)
    single = single.to(device=x.device)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(single, name).copy_(value)
    init = (h0[None, None], c0[None, None]) if cell == "lstm" else h0[None, None]
    out, _ = single(x[:, None], init)
    return out[:, 0]


def _cell_states(i: Tensor, f: Tensor, g: Tensor, c0: Tensor) -> Tensor:
    """c_t = f_t * c_{t-1} + i_t * g_t, elementwise along the text."""
    cells = i * g
    c = c0
    for t in range(cells.shape[0]):
        c = cells[t].addcmul_(f[t], c)
    return cells


def display_values(trace: GateTrace, layer: int, gate: str) -> torch.Tensor:
    """Values as the view colours them: tanh(c) for the cell state, the gate itself otherwise."""
    values = trace.layers[layer][gate]
    return torch.tanh(values) if gate == "c" else values


SATURATED_LOW, SATURATED_HIGH = 0.1, 0.9  # on the (0, 1) scale; tanh-range values are mapped onto it
MOSTLY = 0.9  # a unit saturated on more than this share of the characters is "mostly" saturated


def saturation(
    trace: GateTrace, layer: int, gate: str, low: float = SATURATED_LOW, high: float = SATURATED_HIGH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per unit: fraction of positions left-saturated (< low) and right-saturated (> high).

    For tanh-range values the thresholds are mapped onto (-1, 1).
    """
    values = display_values(trace, layer, gate)
    if gate not in SIGMOID_GATES:
        values = (values + 1) / 2
    return (values < low).float().mean(0), (values > high).float().mean(0)


def saturation_thresholds(gate: str) -> tuple[float, float]:
    """The thresholds of ``saturation`` on the gate's own scale: (0.1, 0.9), or (-0.8, 0.8) for tanh-range values."""
    if gate in SIGMOID_GATES:
        return SATURATED_LOW, SATURATED_HIGH
    return round(2 * SATURATED_LOW - 1, 6), round(2 * SATURATED_HIGH - 1, 6)


@dataclass(frozen=True)
class SaturationSummary:
    """How saturated a gate's units are: the gate view's overview draws these counts."""

    low: tuple[int, ...]  # units per bin of the share of characters below the low threshold (bin k: [k/n, (k+1)/n))
    high: tuple[int, ...]  # the same above the high threshold
    mostly_low: int  # units below the low threshold on more than MOSTLY of the characters
    mostly_high: int


def saturation_summary(trace: GateTrace, layer: int, gate: str, bins: int = 10) -> SaturationSummary:
    left, right = saturation(trace, layer, gate)
    return SaturationSummary(
        _histogram(left, bins), _histogram(right, bins), int((left > MOSTLY).sum()), int((right > MOSTLY).sum())
    )


def _histogram(shares: torch.Tensor, bins: int) -> tuple[int, ...]:
    """Counts of values in [0, 1] per equal bin; 1.0 falls in the last."""
    counts = [0] * bins
    for share in shares.tolist():
        counts[min(bins - 1, int(share * bins))] += 1
    return tuple(counts)


FEATURES = ("inside quotes", "inside brackets", "position in line", "word start", "whitespace", "upper case")


def text_features(text: str) -> torch.Tensor:
    """(positions, features) of simple properties of each character, as in Karpathy et al. 2015."""
    rows = []
    in_quote = False
    depth = 0
    column = 0
    previous = " "
    for ch in text:
        if ch == '"':
            in_quote = not in_quote
        if ch in "([{":
            depth += 1
        rows.append(
            (
                float(in_quote),
                float(depth > 0),
                float(column),
                float(ch.isalnum() and not previous.isalnum()),
                float(ch.isspace()),
                float(ch.isupper()),
            )
        )
        if ch in ")]}":
            depth = max(0, depth - 1)
        column = 0 if ch == "\n" else column + 1
        previous = ch
    return torch.tensor(rows, dtype=torch.float32).reshape(len(text), len(FEATURES))


def interesting_units(trace: GateTrace, layer: int, gate: str, limit: int = 10) -> list[tuple[int, str, float]]:
    """Units whose activation correlates best with a text feature: (unit, feature, correlation)."""
    values = display_values(trace, layer, gate)
    features = text_features("".join(trace.chars))
    v = values - values.mean(0)
    f = features - features.mean(0)
    denominator = v.norm(dim=0)[:, None] * f.norm(dim=0)[None, :]
    corr = (v.T @ f) / denominator.clamp_min(1e-8)  # (units, features)
    corr = torch.where(denominator > 1e-8, corr, torch.zeros_like(corr))
    best, which = corr.abs().max(dim=1)
    order = torch.argsort(best, descending=True)[:limit]
    return [(int(u), FEATURES[int(which[u])], float(corr[u, which[u]])) for u in order]


def active_units(
    trace: GateTrace, layer: int, gate: str, start: int, stop: int, limit: int = 8
) -> list[tuple[int, float]]:
    """Units that are on across positions [start, stop): highest minimum value over the span (LSTMVis's selection)."""
    values = display_values(trace, layer, gate)[start:stop]
    if values.numel() == 0:
        return []
    floor = values.min(dim=0).values
    order = torch.argsort(floor, descending=True)[:limit]
    return [(int(u), float(floor[u])) for u in order]

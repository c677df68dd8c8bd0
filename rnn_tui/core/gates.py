"""Recompute every gate, character by character, from the trained parameters.

Training uses torch's fused recurrent kernels, which do not expose their
gates. ``trace`` reruns the same equations step by step with the very same
parameters (torch's layouts: LSTM rows i, f, g, o; GRU rows r, z, n), so what
the gate view shows is what the fused module computed (a test holds the two
to 1e-5). The input projections of a whole layer are one matrix product; only
the recurrent part loops over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnn_tui.core.cells import gru_step, layer_params, lstm_step, rnn_step

GATES = {
    "lstm": ("i", "f", "g", "o", "c", "h"),
    "gru": ("r", "z", "n", "h"),
    "rnn": ("h",),
}
GATE_NAMES = {
    "i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate", "c": "cell state",
    "h": "hidden state", "r": "reset gate", "z": "update gate", "n": "candidate",
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
def trace(model, vocab, text: str, top: int = 5, state=None) -> GateTrace:
    """Run ``text`` through ``model`` and return every gate at every position."""
    from rnn_tui.core.sampling import check_prime

    check_prime(vocab, text)
    model = model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([vocab.index[ch] for ch in text], dtype=torch.long, device=device)
    x = model.embed(ids).float()
    rnn, cell, hidden = model.rnn, model.cell, model.hidden_size
    layers = []
    for layer in range(rnn.num_layers):
        w_ih, w_hh, b_ih, b_hh = layer_params(rnn, layer)
        projected = torch.addmm(b_ih, x, w_ih.T)  # the input side of every step in one product
        h0, c0 = _initial(state, layer, hidden, device)
        if cell == "lstm":
            values = _lstm(projected, w_hh, b_hh, h0, c0)
        elif cell == "gru":
            values = _gru(projected, w_hh, b_hh, h0)
        else:
            values = _rnn(projected, w_hh, b_hh, h0, rnn.nonlinearity)
        layers.append(values)
        x = values["h"]  # dropout is off at inference, as in the fused module's eval mode
    logits = model.head(x).float()
    probs = torch.softmax(logits, dim=-1)
    k = min(top, probs.shape[1])
    values, indices = torch.topk(probs, k, dim=-1)
    chars = vocab.chars
    guesses = tuple(tuple((chars[i], p) for i, p in zip(ri, rv)) for ri, rv in zip(indices.tolist(), values.tolist()))
    return GateTrace(cell, tuple(text), tuple({k: v.cpu() for k, v in layer.items()} for layer in layers), guesses, probs.cpu())


def _initial(state, layer, hidden, device):
    zeros = torch.zeros(hidden, device=device)
    if state is None:
        return zeros, zeros
    if isinstance(state, tuple):
        return state[0][layer, 0].float(), state[1][layer, 0].float()
    return state[layer, 0].float(), zeros


def _lstm(projected, w_hh, b_hh, h, c):
    steps, size = projected.shape[0], h.shape[0]
    gates = torch.empty(steps, 4 * size, device=h.device)
    cells = torch.empty(steps, size, device=h.device)
    hidden = torch.empty(steps, size, device=h.device)
    for t in range(steps):
        lstm_step(projected[t], w_hh, b_hh, h, c, gates[t], cells[t], hidden[t])
        h, c = hidden[t], cells[t]
    i, f, g, o = gates.split(size, dim=1)
    return {"i": i, "f": f, "g": g, "o": o, "c": cells, "h": hidden}


def _gru(projected, w_hh, b_hh, h):
    steps, size = projected.shape[0], h.shape[0]
    gates = torch.empty(steps, 3 * size, device=h.device)
    hidden = torch.empty(steps, size, device=h.device)
    scratch = torch.empty(3 * size, device=h.device)
    for t in range(steps):
        gru_step(projected[t], w_hh, b_hh, h, gates[t], scratch, hidden[t])
        h = hidden[t]
    r, z, n = gates.split(size, dim=1)
    return {"r": r, "z": z, "n": n, "h": hidden}


def _rnn(projected, w_hh, b_hh, h, nonlinearity="tanh"):
    steps = projected.shape[0]
    hidden = torch.empty(steps, h.shape[0], device=h.device)
    for t in range(steps):
        rnn_step(projected[t], w_hh, b_hh, h, hidden[t], nonlinearity)
        h = hidden[t]
    return {"h": hidden}


def display_values(trace: GateTrace, layer: int, gate: str) -> torch.Tensor:
    """Values as the view colours them: tanh(c) for the cell state, the gate itself otherwise."""
    values = trace.layers[layer][gate]
    return torch.tanh(values) if gate == "c" else values


def saturation(trace: GateTrace, layer: int, gate: str, low: float = 0.1, high: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """Per unit: fraction of positions left-saturated (< low) and right-saturated (> high).

    For tanh-range values the thresholds are mapped onto (-1, 1).
    """
    values = display_values(trace, layer, gate)
    if gate not in SIGMOID_GATES:
        values = (values + 1) / 2
    return (values < low).float().mean(0), (values > high).float().mean(0)


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
        rows.append((
            float(in_quote),
            float(depth > 0),
            float(column),
            float(ch.isalnum() and not previous.isalnum()),
            float(ch.isspace()),
            float(ch.isupper()),
        ))
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


def active_units(trace: GateTrace, layer: int, gate: str, start: int, stop: int, limit: int = 8) -> list[tuple[int, float]]:
    """Units that are on across positions [start, stop): highest minimum value over the span (LSTMVis's selection)."""
    values = display_values(trace, layer, gate)[start:stop]
    if values.numel() == 0:
        return []
    floor = values.min(dim=0).values
    order = torch.argsort(floor, descending=True)[:limit]
    return [(int(u), float(floor[u])) for u in order]

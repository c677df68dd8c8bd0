"""How far back the gradient reaches: ||dL_T / dh_t|| against the distance T - t.

Backpropagation through time multiplies by the recurrent Jacobian at every
step. In a vanilla tanh RNN that product shrinks (or blows up) geometrically;
the LSTM's and GRU's additive state updates let it pass. This module measures
it on a chunk of text: the loss at the last position only, differentiated
with respect to every layer's hidden state at every earlier position.

Each layer is run through torch's fused kernel on the model's own parameters
(a single-layer module per layer), so its per-position outputs are tensors
autograd can differentiate against. The gradient with respect to ``h_t`` is
the total one: through the layer above at ``t`` and through the recurrence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class GradFlow:
    cell: str
    distance: tuple[int, ...]
    layers: tuple[tuple[float, ...], ...]  # per layer: norm at distance 0, 1, ...
    initial: tuple[tuple[float, ...], ...] | None = None  # the same at initialisation

    def to_json(self) -> dict:
        data = {"cell": self.cell, "distance": list(self.distance), "layers": [list(r) for r in self.layers]}
        if self.initial is not None:
            data["initial"] = [list(r) for r in self.initial]
        return data

    def at(self, distance: int, layer: int = -1, initial: bool = False) -> float:
        rows = self.initial if initial else self.layers
        return rows[layer][min(distance, len(self.distance) - 1)]


def gradient_flow(model, ids: torch.Tensor) -> GradFlow:
    """``ids``: 1-D character ids of length T + 1 (the last one is the target of the loss)."""
    from rnn_tui.core.cells import layer_params
    from rnn_tui.core.gates import _fused_layer

    model = model.eval()
    rnn, cell, size = model.rnn, model.cell, model.hidden_size
    inputs, target = ids[:-1], ids[-1:]
    steps = inputs.numel()
    with torch.enable_grad():
        x = model.embed(inputs).detach().float()
        outputs = []
        zeros = torch.zeros(size)
        for layer in range(rnn.num_layers):
            w_ih, w_hh, b_ih, b_hh = layer_params(rnn, layer)
            h = _fused_layer(cell, rnn, w_ih, w_hh, b_ih, b_hh, x, zeros, zeros)
            h.retain_grad()
            outputs.append(h)
            x = h
        head_w, head_b = model.head.weight.detach().float(), model.head.bias.detach().float()
        loss = F.cross_entropy((x[-1:] @ head_w.T + head_b), target)
        grads = torch.autograd.grad(loss, outputs, allow_unused=True)
    rows = []
    for grad in grads:
        norms = grad.norm(dim=1) if grad is not None else torch.zeros(steps)
        rows.append(tuple(float(v) for v in norms.flip(0)))  # distance 0 is the last position
    return GradFlow(cell, tuple(range(steps)), tuple(rows))


def gradient_flow_for(config: dict, vocab: str, weights: dict, text_ids: torch.Tensor, with_initial: bool = True) -> GradFlow:
    """Now and at initialisation (the same seed as the run) on the same chunk."""
    from rnn_tui.core.model import CharRNN, build_from_weights

    now = gradient_flow(build_from_weights(config, vocab, weights), text_ids)
    if not with_initial:
        return now
    generator_state = torch.get_rng_state()
    try:
        torch.manual_seed(int(config.get("seed", 1337)))
        initial_model = CharRNN(len(vocab), config["cell"], config["embed_size"], config["hidden_size"], config["layers"], 0.0)
    finally:
        torch.set_rng_state(generator_state)
    start = gradient_flow(initial_model, text_ids)
    return GradFlow(now.cell, now.distance, now.layers, start.layers)


def decay(flow: GradFlow, distance: int = 50, layer: int = 0) -> float:
    """||dL/dh|| at ``distance`` relative to distance 0: 1 means no decay, 1e-6 means it vanished."""
    first = flow.at(0, layer)
    return flow.at(distance, layer) / first if first > 0 else 0.0

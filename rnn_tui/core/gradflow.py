"""How far back the gradient reaches: ||dL_T / dh_t|| against the distance T - t.

Backpropagation through time multiplies by the recurrent Jacobian at every
step. In a vanilla tanh RNN that product shrinks (or blows up) geometrically;
the LSTM's and GRU's additive state updates let it pass. This module measures
it on a chunk of text: the loss at the last position only, differentiated
with respect to every layer's hidden state at every earlier position.

The network is unrolled here one step at a time with the cell equations on the
model's own parameters (torch's layouts), so every h_t of every layer is a
node autograd can differentiate against; the gradient with respect to ``h_t``
is the total one: through the layer above at ``t`` and through the recurrence.
(The fused kernels keep the recurrence inside one node, so their outputs cannot
give it; a test checks these values against the fused modules stepped one
character at a time.)
"""

from __future__ import annotations

import math
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
        rows = self.initial if initial and self.initial is not None else self.layers
        return rows[layer][min(distance, len(self.distance) - 1)]


def _step(cell, x, h, c, w_ih, w_hh, b_ih, b_hh, nonlinearity):
    """One step of one layer, differentiable (no in-place ops)."""
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if cell == "lstm":
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if cell == "gru":
        x_r, x_z, x_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (1 - z) * n + z * h, c
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    return act(gi + gh), c


def gradient_flow(model, ids: torch.Tensor) -> GradFlow:
    """``ids``: 1-D character ids of length T + 1 (the last one is the target of the loss)."""
    from rnn_tui.core.cells import layer_params

    model = model.eval()
    rnn, cell, size = model.rnn, model.cell, model.hidden_size
    nonlinearity = getattr(rnn, "nonlinearity", "tanh")
    params = [layer_params(rnn, layer) for layer in range(rnn.num_layers)]
    inputs, target = ids[:-1], ids[-1:]
    steps = inputs.numel()
    with torch.enable_grad():
        x_all = model.embed(inputs).detach().float().requires_grad_()  # puts every h_t in the graph
        h = [torch.zeros(size) for _ in params]
        c = [torch.zeros(size) for _ in params]
        hidden: list[list[torch.Tensor]] = [[] for _ in params]  # hidden[layer][t]
        for t in range(steps):
            x = x_all[t]
            for layer, (w_ih, w_hh, b_ih, b_hh) in enumerate(params):
                h[layer], c[layer] = _step(cell, x, h[layer], c[layer], w_ih, w_hh, b_ih, b_hh, nonlinearity)
                hidden[layer].append(h[layer])
                x = h[layer]
        head_w, head_b = model.head.weight.detach().float(), model.head.bias.detach().float()
        loss = F.cross_entropy((x @ head_w.T + head_b)[None], target)
        flat = [node for row in hidden for node in row]
        grads = torch.autograd.grad(loss, flat, allow_unused=True)
    rows = []
    for layer in range(len(params)):
        norms = [0.0 if g is None else float(g.norm()) for g in grads[layer * steps : (layer + 1) * steps]]
        rows.append(tuple(reversed(norms)))  # distance 0 is the last position
    return GradFlow(cell, tuple(range(steps)), tuple(rows))


def gradient_flow_for(
    config: dict, vocab: str, weights: dict, text_ids: torch.Tensor, with_initial: bool = True
) -> GradFlow:
    """Now and at initialisation (the same seed as the run) on the same chunk."""
    from rnn_tui.core.model import build_from_weights, model_shell

    now = gradient_flow(build_from_weights(config, vocab, weights), text_ids)
    if not with_initial:
        return now
    # The run's own initial weights, drawn from a private generator: the global one belongs to a
    # trainer that may be running in another thread (touching it would make its resume inexact).
    initial_model = model_shell(config, len(vocab))  # its weights are drawn below
    # Empty CPU tensors put in place (to_empty() would load torch's symbolic-shape stack: ~0.3 s the first time).
    shapes = {name: torch.empty(t.shape) for name, t in initial_model.state_dict().items()}
    initial_model.load_state_dict(shapes, assign=True)
    generator = torch.Generator().manual_seed(int(config.get("seed", 1337)))
    with torch.no_grad():  # the same draws, in the same order, as the modules' own reset_parameters()
        torch.nn.init.normal_(initial_model.embed.weight, generator=generator)
        bound = 1 / math.sqrt(initial_model.hidden_size)
        for weight in initial_model.rnn.parameters():
            torch.nn.init.uniform_(weight, -bound, bound, generator=generator)
        torch.nn.init.kaiming_uniform_(initial_model.head.weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(initial_model.head.weight.shape[1])
        torch.nn.init.uniform_(initial_model.head.bias, -bound, bound, generator=generator)
    start = gradient_flow(initial_model, text_ids)
    return GradFlow(now.cell, now.distance, now.layers, start.layers)


def decay(flow: GradFlow, distance: int = 50, layer: int = 0) -> float:
    """||dL/dh|| at ``distance`` relative to distance 0: 1 means no decay, 1e-6 means it vanished."""
    first = flow.at(0, layer)
    return flow.at(distance, layer) / first if first > 0 else 0.0

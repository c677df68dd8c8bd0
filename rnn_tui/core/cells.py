"""The cell equations, one step at a time, on torch's own parameter layouts.

Used by ``gates.trace`` (which records every gate) and by the sampler (which
only needs the next distribution). The fused torch modules are the fast path
for training, but for a single stream one character at a time their per-call
cost dominates (milliseconds on a CPU); these few vector ops take
microseconds. Every function writes into caller-owned buffers (``out``) so a
step allocates nothing; LSTM and GRU outputs may alias their inputs ``h`` and ``c``.

Layouts: LSTM rows i, f, g, o; GRU rows r, z, n; ``x_proj`` is W_ih x + b_ih.
"""

from __future__ import annotations

import torch


def lstm_step(x_proj, w_hh, b_hh, h, c, gates_out, c_out, h_out) -> None:
    """gates_out <- (i, f, g, o) activated; c_out <- f*c + i*g; h_out <- o*tanh(c_out)."""
    size = h.shape[0]
    torch.addmv(x_proj, w_hh, h, out=gates_out)
    gates_out += b_hh
    gates_out[: 2 * size].sigmoid_()
    gates_out[2 * size : 3 * size].tanh_()
    gates_out[3 * size :].sigmoid_()
    i, f, g, o = gates_out[:size], gates_out[size : 2 * size], gates_out[2 * size : 3 * size], gates_out[3 * size :]
    torch.mul(f, c, out=c_out)
    c_out.addcmul_(i, g)
    torch.tanh(c_out, out=h_out)
    h_out.mul_(o)


def gru_step(x_proj, w_hh, b_hh, h, gates_out, scratch, h_out) -> None:
    """gates_out <- (r, z, n); h_out <- (1-z)*n + z*h. ``scratch`` holds 3H floats."""
    size = h.shape[0]
    torch.addmv(b_hh, w_hh, h, out=scratch)  # W_hh h + b_hh
    torch.add(x_proj[: 2 * size], scratch[: 2 * size], out=gates_out[: 2 * size])
    gates_out[: 2 * size].sigmoid_()
    r, z = gates_out[:size], gates_out[size : 2 * size]
    n = gates_out[2 * size :]
    torch.addcmul(x_proj[2 * size :], r, scratch[2 * size :], out=n)
    n.tanh_()
    torch.sub(h, n, out=scratch[:size])
    torch.addcmul(n, z, scratch[:size], out=h_out)


def rnn_step(x_proj, w_hh, b_hh, h, h_out, nonlinearity: str = "tanh") -> None:
    """h_out <- tanh(x_proj + W_hh h + b_hh). Unlike the others, h_out must not alias h."""
    torch.addmv(x_proj, w_hh, h, out=h_out)
    h_out += b_hh
    if nonlinearity == "tanh":
        h_out.tanh_()
    else:
        h_out.relu_()


def layer_params(rnn, layer: int):
    """(W_ih, W_hh, b_ih, b_hh) as float32 tensors, zeros where the module has no bias."""
    w_ih = getattr(rnn, f"weight_ih_l{layer}").detach().float()
    w_hh = getattr(rnn, f"weight_hh_l{layer}").detach().float()
    b_ih = getattr(rnn, f"bias_ih_l{layer}", None)
    b_hh = getattr(rnn, f"bias_hh_l{layer}", None)
    zeros = torch.zeros(w_hh.shape[0], device=w_hh.device)
    return (
        w_ih,
        w_hh,
        zeros if b_ih is None else b_ih.detach().float(),
        zeros if b_hh is None else b_hh.detach().float(),
    )

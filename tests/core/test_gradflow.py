import pytest
import torch
import torch.nn.functional as F

from rnn_tui.core.gradflow import decay, gradient_flow, gradient_flow_for
from rnn_tui.core.model import CharRNN


def reference(model, ids):
    """Through torch's fused modules: one single-layer nn.RNN/LSTM/GRU per layer, called one character at a time."""
    model = model.eval()
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[model.cell]
    layers = []
    for layer in range(model.layers):
        m = cls(model.rnn.input_size if layer == 0 else model.hidden_size, model.hidden_size, 1)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(m, f"{name}_l0").copy_(getattr(model.rnn, f"{name}_l{layer}"))
        layers.append(m)
    x = model.embed(ids[:-1]).detach()
    hidden = [[] for _ in layers]
    state = [None] * len(layers)
    for t in range(x.shape[0]):
        inp = x[t].view(1, 1, -1)
        for layer, m in enumerate(layers):
            out, state[layer] = m(inp, state[layer])
            h = state[layer][0] if isinstance(state[layer], tuple) else state[layer]
            hidden[layer].append(h)
            inp = h  # the same tensor goes up and along: both paths reach it
    loss = F.cross_entropy(model.head(inp.view(1, -1)), ids[-1:])
    flat = [h for row in hidden for h in row]
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    steps = x.shape[0]
    return [[float(grads[layer * steps + t].norm()) for t in reversed(range(steps))] for layer in range(len(layers))]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_values_match_an_independent_autograd_computation(cell):
    torch.manual_seed(0)
    model = CharRNN(20, cell, 8, 16, 2)
    ids = torch.randint(0, 20, (31,))
    flow = gradient_flow(model, ids)
    expected = reference(model, ids)
    assert len(flow.distance) == 30 and len(flow.layers) == 2
    for layer in range(2):
        for d in range(30):
            assert flow.layers[layer][d] == pytest.approx(expected[layer][d], rel=1e-4, abs=1e-9), (layer, d)


def test_saturated_vanilla_rnn_vanishes_and_lstm_keeps_more():
    torch.manual_seed(0)
    ids = torch.randint(0, 20, (101,))
    rnn = CharRNN(20, "rnn", 8, 32, 1)
    with torch.no_grad():
        rnn.rnn.weight_hh_l0.normal_(0, 0.3)
        rnn.rnn.bias_ih_l0.fill_(4.0)  # saturate tanh: every unit near +1, derivatives near 0
    flow = gradient_flow(rnn, ids)
    norms = flow.layers[0]
    assert decay(flow, 50) < 1e-6
    assert norms[30] < norms[5] < norms[0]
    lstm = CharRNN(20, "lstm", 8, 32, 1)
    with torch.no_grad():
        lstm.rnn.bias_hh_l0[32:64].fill_(5.0)  # forget gates open: the cell state carries the gradient
    assert decay(gradient_flow(lstm, ids), 50) > 1e-3


def test_initial_uses_the_run_seed():
    torch.manual_seed(7)
    config = {"cell": "gru", "embed_size": 8, "hidden_size": 16, "layers": 1, "seed": 3}
    torch.manual_seed(3)
    init = CharRNN(10, "gru", 8, 16, 1, 0.0)
    weights = {k: v + 0.1 for k, v in init.state_dict().items()}
    ids = torch.randint(0, 10, (21,))
    flow = gradient_flow_for(config, "abcdefghij", weights, ids)
    assert flow.initial == gradient_flow(init, ids).layers
    assert flow.layers != flow.initial
    data = flow.to_json()
    assert data["cell"] == "gru" and data["distance"][:3] == [0, 1, 2] and len(data["layers"][0]) == 20

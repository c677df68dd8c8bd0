import pytest
import torch

from rnn_tui.core.corpus import Vocab
from rnn_tui.core.gates import GATES, saturation, trace
from rnn_tui.core.model import CharRNN

VOCAB = Vocab("".join(sorted(set("the quick brown fox jumps over the lazy dog. 한국어 🙂\n"))))
TEXT = "the quick brown fox 🙂 jumps over 한국어 the lazy dog.\nthe end"


def model_for(cell, layers, seed=0):
    torch.manual_seed(seed)
    model = CharRNN(len(VOCAB), cell, embed_size=12, hidden_size=20, layers=layers, dropout=0.0)
    with torch.no_grad():  # random weights with some scale, so gates are not all near 0.5
        for p in model.parameters():
            p.normal_(0, 0.25)
    return model.eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_recomputed_states_equal_the_fused_module(cell, layers):
    model = model_for(cell, layers, seed=layers)
    result = trace(model, VOCAB, TEXT)
    ids = torch.tensor([[VOCAB.index[ch] for ch in TEXT]])
    with torch.no_grad():
        emb = model.embed(ids)
        out, state = model.rnn(emb)
        logits, _ = model(ids)
    assert set(result.layers[0]) == set(GATES[cell])
    assert (result.layers[-1]["h"] - out[0]).abs().max() < 1e-5
    final_h = state[0] if cell == "lstm" else state
    for layer in range(layers):
        assert (result.layers[layer]["h"][-1] - final_h[layer, 0]).abs().max() < 1e-5
        if cell == "lstm":
            assert (result.layers[layer]["c"][-1] - state[1][layer, 0]).abs().max() < 1e-5
    assert (result.probs - torch.softmax(logits[0], -1)).abs().max() < 1e-5
    assert len(result.chars) == len(TEXT) == len(result.top)


def test_lstm_identities():
    r = trace(model_for("lstm", 2), VOCAB, TEXT)
    for layer in r.layers:
        i, f, g, o, c, h = (layer[k] for k in "ifgoch")
        previous_c = torch.cat([torch.zeros(1, c.shape[1]), c[:-1]])
        assert torch.allclose(c, f * previous_c + i * g, atol=1e-6)
        assert torch.allclose(h, o * torch.tanh(c), atol=1e-6)
        for gate in (i, f, o):
            assert gate.min() >= 0 and gate.max() <= 1
        assert g.min() >= -1 and g.max() <= 1


def test_gru_identity():
    r = trace(model_for("gru", 2), VOCAB, TEXT)
    for layer in r.layers:
        z, n, h = layer["z"], layer["n"], layer["h"]
        previous_h = torch.cat([torch.zeros(1, h.shape[1]), h[:-1]])
        assert torch.allclose(h, (1 - z) * n + z * previous_h, atol=1e-6)


def test_top_guesses_are_sorted_probabilities():
    r = trace(model_for("gru", 1), VOCAB, TEXT)
    for row in r.top:
        probs = [p for _, p in row]
        assert len(row) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert all(ch in VOCAB.index for ch, _ in row)


def test_saturation_fractions():
    r = trace(model_for("lstm", 1), VOCAB, TEXT)
    left, right = saturation(r, 0, "f")
    f = r.layers[0]["f"]
    assert torch.allclose(left, (f < 0.1).float().mean(0))
    assert torch.allclose(right, (f > 0.9).float().mean(0))
    assert ((left + right) <= 1).all()


def test_json_shape():
    r = trace(model_for("lstm", 2), VOCAB, "abc".replace("a", "t").replace("b", "h").replace("c", "e"))
    data = r.to_json()
    assert data["cell"] == "lstm" and data["chars"] == ["t", "h", "e"]
    assert len(data["layers"]) == 2 and len(data["layers"][0]["f"]) == 3 and len(data["layers"][0]["f"][0]) == 20
    assert len(data["top"][0]) == 5


def test_text_features_and_interesting_units_find_a_planted_unit():
    from rnn_tui.core.gates import FEATURES, GateTrace, active_units, interesting_units, text_features

    text = 'say "hi there" and (then) Go\nnew "line" here'
    feats = text_features(text)
    quote = FEATURES.index("inside quotes")
    assert feats[text.index("h"), quote] == 1 and feats[0, quote] == 0
    assert feats[text.index("t", text.index("(")), FEATURES.index("inside brackets")] == 1
    assert feats[text.index("n", text.index("\n")), FEATURES.index("position in line")] == 0
    h = torch.rand(len(text), 6) * 0.2 - 0.1
    h[:, 4] = feats[:, quote] * 1.8 - 0.9  # unit 4 tracks quotes
    planted = GateTrace("rnn", tuple(text), ({"h": h},), tuple(() for _ in text), torch.zeros(len(text), 2))
    unit, feature, corr = interesting_units(planted, 0, "h")[0]
    assert (unit, feature) == (4, "inside quotes") and corr > 0.95
    start = text.index("hi")
    assert active_units(planted, 0, "h", start, start + 5)[0][0] == 4


def test_rnn_identity_independently_of_torch_kernels():
    m = model_for("rnn", 2)
    r = trace(m, VOCAB, TEXT)
    with torch.no_grad():
        x = m.embed(torch.tensor([VOCAB.index[ch] for ch in TEXT]))
        for layer in range(2):
            w_ih, w_hh = getattr(m.rnn, f"weight_ih_l{layer}"), getattr(m.rnn, f"weight_hh_l{layer}")
            b = getattr(m.rnn, f"bias_ih_l{layer}") + getattr(m.rnn, f"bias_hh_l{layer}")
            h_prev = torch.zeros(20)
            for t in range(len(TEXT)):  # one step at a time from the traced previous state
                h = torch.tanh(w_ih @ x[t] + w_hh @ h_prev + b)
                assert (r.layers[layer]["h"][t] - h).abs().max() < 1e-5
                h_prev = r.layers[layer]["h"][t]
            x = r.layers[layer]["h"]


def test_saturation_summary_counts_units_per_share_of_characters():
    from rnn_tui.core.gates import GateTrace, saturation_summary, saturation_thresholds

    h = torch.zeros(10, 4)
    h[:, 0] = -0.95  # below -0.8 on every character
    h[:, 1] = 0.95  # above 0.8 on every character
    h[:5, 2] = -0.95  # below on half of them
    h[:, 3] = 0.5  # never saturated
    planted = GateTrace("rnn", tuple("abcdefghij"), ({"h": h},), tuple(() for _ in range(10)), torch.zeros(10, 2))
    summary = saturation_summary(planted, 0, "h")
    assert summary.low == (2, 0, 0, 0, 0, 1, 0, 0, 0, 1)  # shares 0 (units 1, 3), 0.5 (unit 2), 1.0 (unit 0)
    assert summary.high == (3, 0, 0, 0, 0, 0, 0, 0, 0, 1)
    assert (summary.mostly_low, summary.mostly_high) == (1, 1)
    assert len(saturation_summary(planted, 0, "h", bins=4).low) == 4
    assert saturation_thresholds("h") == (-0.8, 0.8) and saturation_thresholds("f") == (0.1, 0.9)

"""Sampling by feeding each prediction back in, one character at a time.

``generate`` is a generator: faces print or draw characters as they come and
can stop at any point. Randomness comes from a private ``torch.Generator`` so
the same settings and seed give the same text, and sampling never touches the
global RNG that training uses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rnn_tui.core.config import SampleConfig
from rnn_tui.core.corpus import Vocab, describe_chars
from rnn_tui.core.errors import UserError
from rnn_tui.core.model import map_state

GREEDY_BELOW = 1e-4  # temperatures this small are argmax in all but name


@dataclass(frozen=True)
class Token:
    char: str
    index: int
    prob: float  # probability the model (at temperature 1) gave this character
    top: tuple[tuple[str, float], ...] = ()  # the model's top alternatives, when asked for


class PrimeError(UserError):
    pass


def check_prime(vocab: Vocab, prime: str, what: str = "the prime text") -> None:
    missing = vocab.missing(prime)
    if missing:
        raise PrimeError(
            f"{what} has characters the model never saw: {describe_chars(missing)}; remove or replace them"
        )


def filtered_probs(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Probabilities after temperature, top-k and top-p; float32 and never NaN."""
    logits = logits.float()
    scaled = (logits - logits.max()) / temperature
    if top_k is not None and top_k < scaled.numel():
        kth = torch.topk(scaled, top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if top_p is not None and top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        drop = cumulative - sorted_probs >= top_p  # keep the smallest prefix reaching top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
        probs = probs / probs.sum()
    return probs


class Stepper:
    """One character at a time through a CharRNN, with the cell equations on its own weights.

    For a single stream this is tens of times faster on a CPU than calling the
    fused module per character; a test holds the two to the same text.
    """

    def __init__(self, model, state=None):
        from rnn_tui.core.cells import layer_params

        rnn = model.rnn
        self.cell, self.nonlinearity = model.cell, getattr(rnn, "nonlinearity", "tanh")
        self.layers = [layer_params(rnn, k) for k in range(rnn.num_layers)]
        w_ih, _, b_ih, _ = self.layers[0]
        self.input_table = model.embed.weight.detach().float() @ w_ih.T + b_ih  # layer 0's input side, per character
        self.head_w, self.head_b = model.head.weight.detach().float(), model.head.bias.detach().float()
        size, device = model.hidden_size, self.head_w.device
        from rnn_tui.core.config import GATE_BLOCKS

        width = GATE_BLOCKS[self.cell]
        self.h = [torch.zeros(size, device=device) for _ in self.layers]
        self.c = [torch.zeros(size, device=device) for _ in self.layers]
        if state is not None:
            hs = state[0] if isinstance(state, tuple) else state
            for k in range(len(self.layers)):
                self.h[k].copy_(hs[k, 0].float())
                if isinstance(state, tuple):
                    self.c[k].copy_(state[1][k, 0].float())
        self.gates = torch.empty(width * size, device=device)
        self.scratch = torch.empty(3 * size, device=device)
        self.x_proj = torch.empty(width * size, device=device)
        self.logits = torch.empty(self.head_b.shape[0], device=device)

    def step(self, index: int) -> torch.Tensor:
        from rnn_tui.core.cells import gru_step, lstm_step, rnn_step

        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.layers):
            if k == 0:
                x_proj = self.input_table[index]
            else:
                x_proj = torch.addmv(b_ih, w_ih, self.h[k - 1], out=self.x_proj)
            if self.cell == "lstm":
                lstm_step(x_proj, w_hh, b_hh, self.h[k], self.c[k], self.gates, self.c[k], self.h[k])
            elif self.cell == "gru":
                gru_step(x_proj, w_hh, b_hh, self.h[k], self.gates, self.scratch, self.h[k])
            else:
                rnn_step(x_proj, w_hh, b_hh, self.h[k], self.gates, self.nonlinearity)  # h_out may not alias h here
                self.h[k].copy_(self.gates)
        return torch.addmv(self.head_b, self.head_w, self.h[-1], out=self.logits)


@torch.inference_mode()
def generate(model, vocab: Vocab, cfg: SampleConfig, top: int = 0, state=None) -> Iterator[Token]:
    """Yield ``cfg.length`` tokens after priming the model with ``cfg.prime``."""
    cfg.validated()
    prime = cfg.prime or ("\n" if "\n" in vocab.index else vocab.chars[0])
    check_prime(vocab, prime)
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device="cpu")
    generator.manual_seed(cfg.seed if cfg.seed is not None else random.randrange(2**63))
    greedy = cfg.greedy or cfg.temperature < GREEDY_BELOW
    chars = vocab.chars
    ids = torch.tensor([[vocab.index[ch] for ch in prime]], dtype=torch.long, device=device)
    logits, state = model(ids, state)  # the prime in one fused call
    last = logits[0, -1].float().cpu()
    stepper = Stepper(model.cpu() if device.type != "cpu" else model, state=map_state(state, torch.Tensor.cpu))
    for _ in range(cfg.length):
        if greedy:
            index = int(torch.argmax(last))
        else:
            probs = filtered_probs(last, cfg.temperature, cfg.top_k, cfg.top_p)
            index = int(torch.multinomial(probs, 1, generator=generator))
        model_probs = torch.softmax(last, dim=-1)
        alternatives: tuple[tuple[str, float], ...] = ()
        if top:
            values, indices = torch.topk(model_probs, min(top, model_probs.numel()))
            alternatives = tuple((chars[i], p) for i, p in zip(indices.tolist(), values.tolist()))
        yield Token(chars[index], index, float(model_probs[index]), alternatives)
        last = stepper.step(index)


def sample_text(model, vocab: Vocab, cfg: SampleConfig) -> str:
    return "".join(t.char for t in generate(model, vocab, cfg))


# While a model trains on the same machine, interactive sampling streams at most this many
# characters a second: far faster than anyone reads, and it leaves the cores to training.
LIVE_SAMPLING_RATE = 400.0


def paced(tokens, chars_per_sec: float | None):
    """Yield ``tokens`` no faster than ``chars_per_sec`` (None: as fast as they come)."""
    import time

    if not chars_per_sec:
        yield from tokens
        return
    start = time.monotonic()
    for count, token in enumerate(tokens, 1):
        yield token
        ahead = count / chars_per_sec - (time.monotonic() - start)
        if ahead > 0.1:  # sleep rarely and in long stretches: fewer wake-ups disturb training less
            time.sleep(ahead)

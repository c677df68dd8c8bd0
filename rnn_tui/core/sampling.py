"""Sampling by feeding each prediction back in, one character at a time.

``generate`` is a generator: faces print or draw characters as they come and
can stop at any point. Randomness comes from a private ``torch.Generator`` so
the same settings and seed give the same text, and sampling never touches the
global RNG that training uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

import torch

from rnn_tui.core.config import SampleConfig
from rnn_tui.core.corpus import Vocab, describe_chars
from rnn_tui.core.errors import UserError

GREEDY_BELOW = 1e-4  # temperatures this small are argmax in all but name


@dataclass(frozen=True)
class Token:
    char: str
    index: int
    prob: float  # probability the model (at temperature 1) gave this character
    top: tuple[tuple[str, float], ...] = ()  # the model's top alternatives, when asked for


class PrimeError(UserError):
    pass


def check_prime(vocab: Vocab, prime: str) -> None:
    missing = vocab.missing(prime)
    if missing:
        raise PrimeError(
            f"the prime text has characters the model never saw: {describe_chars(missing)}; remove or replace them"
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
    logits, state = model(ids, state)
    last = logits[0, -1].float().cpu()
    step_input = torch.empty((1, 1), dtype=torch.long, device=device)
    for _ in range(cfg.length):
        if greedy:
            index = int(torch.argmax(last))
        else:
            probs = filtered_probs(last, cfg.temperature, cfg.top_k, cfg.top_p)
            index = int(torch.multinomial(probs, 1, generator=generator))
        model_probs = torch.softmax(last, dim=-1)
        alternatives = ()
        if top:
            values, indices = torch.topk(model_probs, min(top, model_probs.numel()))
            alternatives = tuple((chars[i], p) for i, p in zip(indices.tolist(), values.tolist()))
        yield Token(chars[index], index, float(model_probs[index]), alternatives)
        step_input.fill_(index)
        logits, state = model(step_input, state)
        last = logits[0, -1].float().cpu()


def sample_text(model, vocab: Vocab, cfg: SampleConfig) -> str:
    return "".join(t.char for t in generate(model, vocab, cfg))

"""CharRNN: embedding -> fused torch recurrent stack -> linear logits.

Only torch's fused modules (cuDNN on the GPU, oneDNN on the CPU) are used for
training; ``gates.py`` recomputes the gates from these same parameters. The
parameter names are torch.nn's own (``embed.weight``, ``rnn.weight_ih_l0``,
``head.weight``...) so a checkpoint loads into plain PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn

RNN_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        cell: str = "lstm",
        embed_size: int = 64,
        hidden_size: int = 256,
        layers: int = 2,
        dropout: float = 0.0,
        weights_follow: bool = False,
    ):
        """``weights_follow``: the embedding is left uninitialised, for weights assigned next.

        (On the meta device its random init would load torch's compiler stack: ~1 s, the first time.)
        """
        super().__init__()
        self.cell = cell
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.layers = layers
        empty = torch.empty(vocab_size, embed_size) if weights_follow else None
        self.embed = nn.Embedding(vocab_size, embed_size, _weight=empty)
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = RNN_CLASSES[cell](
            embed_size,
            hidden_size,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
            **extra,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    @classmethod
    def from_config(cls, config, vocab_size: int, weights_follow: bool = False) -> CharRNN:
        return cls(
            vocab_size,
            config.cell,
            config.embed_size,
            config.hidden_size,
            config.layers,
            config.dropout,
            weights_follow=weights_follow,
        )

    def forward(self, x: torch.Tensor, state=None):
        """x: (batch, time) int64 -> logits (batch, time, vocab), new state."""
        out, state = self.rnn(self.embed(x), state)
        return self.head(self.drop(out)), state

    def initial_state(self, batch: int, device=None):
        zeros = torch.zeros(self.layers, batch, self.hidden_size, device=device)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros


def map_state(state, fn):
    """Apply ``fn`` to a recurrent state: a tensor, an LSTM's (h, c) tuple, or None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)
    return fn(state)


def detach_state(state):
    return map_state(state, torch.Tensor.detach)


def state_to_list(state) -> list | None:
    if state is None:
        return None
    return [s.detach().float().cpu() for s in (state if isinstance(state, tuple) else (state,))]


def state_from_list(items, device):
    if not items:
        return None
    tensors = tuple(t.to(device) for t in items)
    return tensors if len(tensors) == 2 else tensors[0]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_shell(config: dict, vocab_size: int) -> CharRNN:
    """A model of ``config``'s shape on the meta device with no weights drawn: for weights assigned next
    (``load_state_dict(..., assign=True)``). No memory, no random init, no global RNG touched."""
    with torch.device("meta"):
        return CharRNN(
            vocab_size,
            config["cell"],
            config["embed_size"],
            config["hidden_size"],
            config["layers"],
            0.0,
            weights_follow=True,
        )


def build_from_weights(config: dict, vocab: str, weights: dict) -> CharRNN:
    """Rebuild a model (on the CPU, in eval mode) from a checkpoint's or snapshot's parts."""
    from rnn_tui.core.errors import CheckpointError

    try:
        # Built on the meta device and given the weights as they are: no random init, so a snapshot
        # sampled or traced from another thread never moves the training RNG (resume stays exact).
        model = model_shell(config, len(vocab))
        model.load_state_dict(
            {k: v.detach().to("cpu", torch.float32, copy=True) for k, v in weights.items()}, assign=True
        )
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint weights do not match its config ({first[:120]})") from None
    return model.eval()

"""Truncated BPTT data layout, the char-rnn way, and the step-only LR schedule.

The training text is cut into ``batch_size`` parallel streams; step ``s``
reads chunk ``s % chunks_per_epoch`` of every stream, so the data position is
a function of the step alone and a run can stop and resume anywhere. Hidden
state is carried from chunk to chunk and reset when the streams wrap.
"""

from __future__ import annotations

import math

import torch


class Streams:
    def __init__(self, data: torch.Tensor, batch_size: int, seq_len: int, device: torch.device):
        length = data.numel() // batch_size
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.streams = data[: batch_size * length].view(batch_size, length).to(device)
        self.chunks_per_epoch = max(0, (length - 1) // seq_len)

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, chunk) that step ``step`` (0-based) trains on."""
        return divmod(step, self.chunks_per_epoch)

    def batch(self, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = chunk * self.seq_len
        window = self.streams[:, start : start + self.seq_len + 1].long()
        return window[:, :-1], window[:, 1:]


def validation_streams(data: torch.Tensor, batch_size: int, seq_len: int, device, max_chars: int) -> Streams | None:
    """Streams over the validation text, shrunk to fit a tiny split; None when it is empty."""
    n = data.numel()
    if n < 2:
        return None
    batch = max(1, min(batch_size, n // (seq_len + 1)))
    seq = max(1, min(seq_len, n // batch - 1))
    streams = Streams(data, batch, seq, device)
    cap = max(1, max_chars // (batch * seq))
    streams.chunks_per_epoch = max(1, min(streams.chunks_per_epoch, cap))
    return streams


def learning_rate(
    step: int, base_lr: float, warmup_steps: int, decay: float, chunks_per_epoch: int, scale: float = 1.0
) -> float:
    """Linear warmup, then ``decay`` once per epoch. Depends on the step, never on when the run stops."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    epoch = step // max(1, chunks_per_epoch)
    return base_lr * scale * warm * math.pow(decay, epoch)

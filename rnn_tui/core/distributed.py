"""Training under torchrun: DistributedDataParallel, one share of the streams per rank.

Started as ``torchrun --nproc_per_node N -m rnn_tui CORPUS --headless ...``, every
process trains ``batch_size / N`` of the parallel streams; DDP averages the
gradients, so a step is the same step as on one device with the whole batch.
Rank 0 alone logs, samples and writes files; decisions that must be the same
everywhere (stop, autosave) are agreed by an all-reduce, and a checkpoint
gathers every rank's carried hidden state, so the saved run is an ordinary
run that resumes on one device or several.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from rnn_tui.core.errors import ConfigError


@dataclass(frozen=True)
class Distributed:
    rank: int
    world: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> torch.device:
        if torch.cuda.is_available() and requested in ("auto", "cuda") or requested.startswith("cuda"):
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def any(self, flags: list[bool], device) -> list[bool]:
        """Each flag is true everywhere if it is true on any rank."""
        t = torch.tensor([float(f) for f in flags], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return [bool(v) for v in t.tolist()]

    def rows(self, total: int) -> slice:
        if total % self.world:
            raise ConfigError(f"--batch-size {total} must be a multiple of the number of processes ({self.world})")
        share = total // self.world
        return slice(self.rank * share, (self.rank + 1) * share)

    def gather_rows(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate every rank's (layers, share, hidden) into (layers, batch, hidden)."""
        parts = [torch.empty_like(tensor) for _ in range(self.world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=1)

    def broadcast(self, value):
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        dist.barrier()


def from_environment() -> Distributed | None:
    """Join the process group torchrun describes; None when not under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=5))
    return Distributed(rank, world, local_rank)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()

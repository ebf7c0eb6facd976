"""Distributed data parallel plumbing for runs launched by ``torchrun``.

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; a plain ``python``
run has none of them and everything here degrades to a single process. Only rank
0 writes outputs; every rank agrees on early stopping through a broadcast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> DistContext:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on CUDA)."""
    if not launched_by_torchrun():
        return DistContext()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, init_method="env://")
    return DistContext(rank=rank, local_rank=local_rank, world_size=world)


def teardown() -> None:
    """Leave the process group, once, when the command that joined it ends."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.barrier()


def broadcast_flag(ctx: DistContext, flag: bool, device: torch.device) -> bool:
    """Rank 0's decision, on every rank."""
    if not (ctx.enabled and dist.is_initialized()):
        return flag
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def all_reduce_mean(ctx: DistContext, value: float, device: torch.device) -> float:
    if not (ctx.enabled and dist.is_initialized()):
        return value
    tensor = torch.tensor([float(value)], dtype=torch.float64 if device.type != "mps" else torch.float32,
                          device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return float(tensor.item()) / ctx.world_size

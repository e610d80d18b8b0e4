"""Multi-process training under torchrun: process group set-up, device choice, and the few collectives the loop needs.

Defines:
    DistInfo                 rank, local rank, world size, device, and whether a process group is up.
    setup(ddp, device)       from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK): gloo on CPU, nccl on CUDA.
    teardown(info)           destroy the process group.
    barrier, all_mean, gather_objects, broadcast_object, broadcast_buffers   no-ops on a single process.

Launch: `torchrun --nproc_per_node N -m sdr2hdr.cli train CONFIG --ddp` (or `--nnodes M --node_rank K
--rdzv_endpoint HOST:PORT` across machines). Without --ddp a process trains alone even if torchrun started it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from sdr2hdr.errors import InputError


@dataclass
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    active: bool = False

    @property
    def is_main(self) -> bool:
        """Only the main process writes files and prints."""
        return self.rank == 0


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """train.device -> a torch device; under DDP, cuda means this process's GPU (LOCAL_RANK)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError("train.device asks for cuda, but this machine has no usable GPU")
        if name == "cuda":
            name = f"cuda:{local_rank}"
    return torch.device(name)


def setup(ddp: bool, device: str) -> DistInfo:
    """A single process, or this process's place in a torchrun group (gloo on CPU, nccl on CUDA)."""
    if not ddp:
        return DistInfo(device=pick_device(device))
    missing = [k for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise InputError("--ddp runs under torchrun (it sets RANK, WORLD_SIZE, ...): "
                         "torchrun --nproc_per_node N -m sdr2hdr.cli train CONFIG --ddp")
    rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    dev = pick_device(device, local)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world,
                                device_id=dev if dev.type == "cuda" else None)
    return DistInfo(rank=rank, local_rank=local, world=world, device=dev, active=True)


def teardown(info: DistInfo) -> None:
    if info.active and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.active:
        dist.barrier()


def all_mean(info: DistInfo, values: list[float]) -> list[float]:
    """Mean of each value over the processes (float64)."""
    if not info.active:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t / info.world).tolist()


def gather_objects(info: DistInfo, obj: Any) -> list:
    """Every process's obj, in rank order, on every process."""
    if not info.active:
        return [obj]
    out = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def broadcast_buffers(info: DistInfo, model: nn.Module) -> None:
    """Rank 0's buffers (batch-norm running statistics) on every process.

    DDP copies them from rank 0 before each forward, so after the last step the other ranks still hold their own
    local update; this makes every process end with rank 0's state, the one that is saved.
    """
    if not info.active:
        return
    for b in model.buffers():
        dist.broadcast(b.data, src=0)


def broadcast_object(info: DistInfo, obj: Any) -> Any:
    """Rank 0's obj on every process."""
    if not info.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]

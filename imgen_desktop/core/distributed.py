"""Training under torchrun: one process per device, gradients averaged over the processes.

``imgen train …`` runs unchanged under ``torchrun --nproc_per_node=N -m imgen_desktop.cli train …``.
:func:`setup` reads torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``) and starts the process group (gloo for CPU tensors, plus
nccl for CUDA tensors when CUDA is there); outside torchrun it returns :data:`SINGLE`, whose
methods do nothing, so the one-process path is unchanged.

How a run is split (the rules the README states):

* ``--batch-size`` is **per process**: the global batch of one optimizer step is
  ``batch_size x world_size``; ``--steps`` counts optimizer steps (every process does each one).
* Every optimizer step goes through ``Amp.step``, where :meth:`Distributed.sync_gradients`
  averages the gradients over the processes (one flat all-reduce per optimizer, before the AMP
  unscale, the norm and the clip), so every process applies the same update and the networks
  stay identical. This is DistributedDataParallel's arithmetic without its module wrapper:
  the recipes use one network in several forwards per backward (a GAN's discriminator on real
  and fake images), switch ``requires_grad`` between their two optimizers and take double
  backwards (WGAN-GP's gradient penalty), which torch's DDP wrapper does not allow.
  Batch-norm statistics stay per process (as DDP's are between its buffer broadcasts);
  rank 0's are the ones saved.
* Data: each process draws its own batches. Random crops (enhancement tasks, ``builtin:photos``)
  and every other random choice (noise, masks, flips, latents) come from a stream seeded by
  ``(seed, rank)`` — independent between processes; random-index sampling of whole pictures
  (``generate`` on a folder, digits, faces) shares one permutation per epoch and each process
  takes its own stride of it, so within an epoch the processes' pictures are disjoint
  (:meth:`ImageDataset.shard <imgen_desktop.core.datasets.ImageDataset.shard>`).
* Rank 0 alone writes: the run folder, metrics (losses averaged over the processes), sample
  grids and health diagnostics, checkpoints and the model. The other processes only read
  (a resume loads the same checkpoint everywhere, ``weights_only=True``).
* Stop: every step, each process's stop request (Ctrl+C, SIGTERM, SIGHUP) is all-reduced, so
  all processes leave the loop after the same step and rank 0 saves the checkpoint once.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def under_torchrun() -> bool:
    """True when torchrun (or another launcher with its variables) started this process."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ
    except ValueError:
        return False


def stream_seed(seed: int, step: int, rank: int | None) -> int:
    """A seed for process ``rank``'s random stream from ``step`` on (``rank=None``: the stream
    all processes share, for the common permutation). Streams of different ranks, steps and
    seeds are independent (numpy's SeedSequence hashes the three numbers)."""
    import numpy as np

    words = [int(seed) % 2**63, int(step), 0 if rank is None else int(rank) + 1]
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0] % 2**63)


class Single:
    """One process: every collective is the identity."""

    rank = 0
    local_rank = 0
    world_size = 1
    backend = ""
    is_main = True
    active = False

    def place(self, device, spec: str):
        return device

    def any(self, flag: bool) -> bool:
        return bool(flag)

    def all_ok(self, ok: bool) -> bool:
        return ok

    def broadcast_text(self, text: str) -> str:
        return text

    def average(self, values: dict[str, float]) -> dict[str, float]:
        return values

    def same_value(self, value: int) -> bool:
        return True

    def broadcast_networks(self, networks: dict) -> None:
        pass

    sync_gradients = None  # Amp.step skips the hook

    def describe_batch(self, batch_size: int) -> str:
        return f"batch {batch_size}"

    def close(self) -> None:
        pass


SINGLE = Single()


class Distributed(Single):
    """One process of a torchrun group (``torch.distributed`` initialised by :func:`setup`)."""

    active = True

    def __init__(self, rank: int, local_rank: int, world_size: int, backend: str, owns_group: bool) -> None:
        self.rank = rank
        self.local_rank = local_rank
        self.world_size = world_size
        self.backend = backend
        self.is_main = rank == 0
        self._owns_group = owns_group

    # --- placement --------------------------------------------------------------------------
    def place(self, device, spec: str):
        """``auto``/``cuda`` on CUDA -> this process's GPU ``cuda:LOCAL_RANK`` (an explicit
        ``cuda:N`` is kept); CPU and MPS stay as they are."""
        import torch

        if device.type == "cuda":
            if (spec or "auto").strip().lower() in ("auto", "cuda"):
                device = torch.device("cuda", self.local_rank % max(1, torch.cuda.device_count()))
            torch.cuda.set_device(device)
        return device

    # --- small collectives on CPU tensors (gloo) ----------------------------------------------
    def _reduce(self, values: list[float], op) -> list[float]:
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t, op=op)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        """True on every process if it is True on any (the stop flag)."""
        import torch.distributed as dist

        return self._reduce([1.0 if flag else 0.0], dist.ReduceOp.MAX)[0] > 0

    def all_ok(self, ok: bool) -> bool:
        """True on every process if every process is ok (set-up succeeded everywhere)."""
        import torch.distributed as dist

        return self._reduce([1.0 if ok else 0.0], dist.ReduceOp.MIN)[0] > 0

    def same_value(self, value: int) -> bool:
        """True if every process has the same integer ``value`` (e.g. the resumed step)."""
        import torch.distributed as dist

        lo = self._reduce([float(value)], dist.ReduceOp.MIN)[0]
        hi = self._reduce([float(value)], dist.ReduceOp.MAX)[0]
        return lo == hi

    def broadcast_text(self, text: str) -> str:
        """Rank 0's ``text`` on every process (the run name; "" says rank 0 could not start)."""
        import torch
        import torch.distributed as dist

        data = text.encode("utf-8") if self.is_main else b""
        size = torch.tensor([len(data)], dtype=torch.int64)
        dist.broadcast(size, src=0)
        buf = torch.zeros(int(size.item()), dtype=torch.uint8)
        if self.is_main and data:
            buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
        if buf.numel():
            dist.broadcast(buf, src=0)
        return bytes(buf.tolist()).decode("utf-8")

    def average(self, values: dict[str, float]) -> dict[str, float]:
        """The mean over the processes of each value (same keys everywhere: the metrics line)."""
        import torch.distributed as dist

        keys = sorted(values)
        if not keys:
            return values
        sums = self._reduce([float(values[k]) for k in keys], dist.ReduceOp.SUM)
        means = {k: s / self.world_size for k, s in zip(keys, sums)}
        return {k: means[k] for k in values}

    # --- networks and gradients -----------------------------------------------------------
    def broadcast_networks(self, networks: dict) -> None:
        """Rank 0's parameters and buffers into every process's networks (same start)."""
        import torch
        import torch.distributed as dist

        for name in sorted(networks):
            with torch.no_grad():
                for _, tensor in sorted(networks[name].state_dict().items()):
                    if torch.is_tensor(tensor) and tensor.numel():
                        dist.broadcast(tensor, src=0)

    def sync_gradients(self, optimizer) -> None:
        """Average the gradients of ``optimizer``'s parameters over the processes, in place.

        Called by ``Amp.step`` after the backward (before the AMP unscale, so every process
        sees the same inf/NaN and skips or takes the same step). One flat all-reduce per dtype.
        """
        import torch
        import torch.distributed as dist

        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        by_dtype: dict[Any, list] = {}
        for g in grads:
            by_dtype.setdefault((g.dtype, g.device), []).append(g)
        for group in by_dtype.values():
            flat = torch.cat([g.reshape(-1) for g in group])
            dist.all_reduce(flat)
            flat.div_(self.world_size)
            offset = 0
            for g in group:
                n = g.numel()
                g.copy_(flat[offset : offset + n].view_as(g))
                offset += n

    def describe_batch(self, batch_size: int) -> str:
        return (f"batch {batch_size} per process x {self.world_size} processes = "
                f"{batch_size * self.world_size} global")

    def close(self) -> None:
        import torch.distributed as dist

        if self._owns_group and dist.is_initialized():
            try:
                dist.destroy_process_group()
            except Exception:  # noqa: BLE001 - leaving anyway
                pass
        self._owns_group = False


def setup(timeout_s: float | None = None) -> Single:
    """The process group of this torchrun process (started here if needed), or :data:`SINGLE`.

    ``timeout_s``: how long a collective waits for the other processes (default 30 minutes,
    torch's; ``IMGEN_DIST_TIMEOUT_S`` overrides it).
    """
    if not under_torchrun():
        return SINGLE
    import torch
    import torch.distributed as dist

    from imgen_desktop.core.errors import ImgenError

    if not dist.is_available():
        raise ImgenError("this torch has no torch.distributed; run without torchrun")
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return Distributed(dist.get_rank(), local_rank, dist.get_world_size(), str(dist.get_backend()), False)
    missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ImgenError(f"distributed training needs {', '.join(missing)} in the environment; start it with torchrun")
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if timeout_s is None:
        try:
            timeout_s = float(os.environ.get("IMGEN_DIST_TIMEOUT_S", "1800"))
        except ValueError:
            timeout_s = 1800.0
    try:
        dist.init_process_group(backend=backend, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s))
    except Exception as exc:  # noqa: BLE001 - one clear line
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ImgenError(f"could not join the distributed run (rank {rank} of {world}): {first}") from None
    return Distributed(rank, local_rank, world, backend, True)


__all__ = ["setup", "under_torchrun", "stream_seed", "SINGLE", "Single", "Distributed", "ENV_VARS"]

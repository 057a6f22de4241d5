"""core.distributed without a launcher: the one-process no-ops, the per-rank streams, the shard."""
from __future__ import annotations

import torch

from imgen_desktop.core import distributed
from imgen_desktop.core.datasets import ImageDataset


def test_without_torchrun_setup_is_the_single_process_no_op(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert not distributed.under_torchrun()
    d = distributed.setup()
    assert d is distributed.SINGLE and d.is_main and not d.active
    assert d.any(True) and not d.any(False) and d.average({"loss": 2.0}) == {"loss": 2.0}
    assert d.broadcast_text("run") == "run" and d.describe_batch(8) == "batch 8"
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert not distributed.under_torchrun()  # torchrun --nproc_per_node=1: one process, nothing to share


def test_stream_seeds_differ_by_rank_step_and_seed():
    seeds = {distributed.stream_seed(s, step, r) for s in (0, 1) for step in (0, 7) for r in (None, 0, 1, 2)}
    assert len(seeds) == 2 * 2 * 4
    assert distributed.stream_seed(3, 5, 1) == distributed.stream_seed(3, 5, 1)  # reproducible


def test_shards_of_an_epoch_are_disjoint_and_cover_it(imgen_home):
    world, batch = 3, 50
    shards = []
    for rank in range(world):
        ds = ImageDataset("builtin:digits", 8)
        ds.shard(rank, world, seed=123)
        torch.manual_seed(1000 + rank)  # each process's own stream must not change the shared order
        per = len(ds) // world
        picks = torch.cat([ds._indices(batch) for _ in range(per // batch)] + [ds._indices(per % batch)])
        assert len(picks) == per
        shards.append(set(picks.tolist()))
        assert len(shards[-1]) == per  # no picture twice within the epoch
    assert not (shards[0] & shards[1]) and not (shards[0] & shards[2]) and not (shards[1] & shards[2])
    assert len(set().union(*shards)) == world * (len(ds) // world)
    # a diagnostics batch in between leaves the shared order alone
    a, b = ImageDataset("builtin:digits", 8), ImageDataset("builtin:digits", 8)
    a.shard(0, world, seed=9)
    b.shard(0, world, seed=9)
    a.fixed_batch(8, torch.device("cpu"), seed=5)
    assert torch.equal(a._indices(40), b._indices(40))

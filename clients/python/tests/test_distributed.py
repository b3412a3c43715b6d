"""Under torch.distributed: rank 0 publishes, other ranks opt in under their own run id, commands reach every rank."""
import json
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import gradwatch
from gradwatch import records
from gradwatch._proto import gradwatch_pb2 as pb
from conftest import RecordingProducer, decode


class OneCommandConsumer:
    """Stands in for confluent_kafka.Consumer on rank 0, delivering one scale_learning_rate command."""

    def __init__(self, properties):
        command = pb.ControlCommand(run_id="dist", command_id="lr-half", issued_at_ms=records.now_ms() + 60_000,
                                    scale_learning_rate=pb.ControlCommand.ScaleLearningRate(factor=0.5))
        self.pending = [command.SerializeToString()]

    def subscribe(self, topics, on_assign=None):
        on_assign(self, [])

    def assign(self, partitions):
        pass

    def poll(self, timeout):
        if not self.pending:
            time.sleep(timeout)
            return None
        value = self.pending.pop()
        return type("Message", (), {"error": lambda s: None, "key": lambda s: b"dist", "value": lambda s: value})()

    def close(self):
        pass


def _train_one_step(all_ranks):
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    producer = RecordingProducer()
    with gradwatch.Watcher("dist", producer=producer, closed_loop=True, consumer_factory=OneCommandConsumer,
                           all_ranks=all_ranks, probe_every=0) as watcher:
        if dist.get_rank() == 0:
            deadline = time.monotonic() + 30
            while not watcher._listener._pending:  # until the command is in, so both ranks see it at step 0
                assert time.monotonic() < deadline
                time.sleep(0.01)
        with watcher.step(0, optimizer=optimizer, model=model) as s:
            model(torch.ones(1, 2)).sum().backward()
            optimizer.step()
            s.record(loss=1.0)
    _, steps = decode(producer.records)
    return {"publishing": watcher.publishing, "lr": optimizer.param_groups[0]["lr"],
            "steps": [[s.run_id, list(s.applied_commands), dict(s.metadata.labels)] for s in steps]}


def _worker(rank, store, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    results = {"rank0_only": _train_one_step(False), "all_ranks": _train_one_step(True)}
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
        json.dump(results, handle)
    dist.destroy_process_group()


def test_rank_zero_publishes_other_ranks_opt_in_and_every_rank_applies_rank_zeros_commands(tmp_path):
    # One pair of processes for both cases: starting them (importing torch twice) is the test's cost.
    mp.spawn(_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = [json.load(open(tmp_path / f"rank{r}.json")) for r in (0, 1)]
    # By default only rank 0 publishes; both apply its command at the same step.
    assert rank0["rank0_only"]["publishing"] and not rank1["rank0_only"]["publishing"]
    assert rank0["rank0_only"]["steps"] == [["dist", ["lr-half"], {"rank": "0", "gradwatch.closed-loop": "true"}]]
    assert rank1["rank0_only"]["steps"] == []
    assert rank0["rank0_only"]["lr"] == rank1["rank0_only"]["lr"] == 0.05
    # Opted in, rank 1 publishes as a run of its own, its rank a label.
    assert rank1["all_ranks"]["publishing"]
    assert rank1["all_ranks"]["steps"] == [["dist-rank1", ["lr-half"], {"rank": "1", "gradwatch.closed-loop": "true"}]]
    assert rank0["all_ranks"]["steps"][0][0] == "dist"

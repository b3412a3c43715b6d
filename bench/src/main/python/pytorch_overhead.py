#!/usr/bin/python3
"""Scenario 6 of ./gradwatch bench: what watching costs a PyTorch job (BenchMain runs this).

    PYTHONPATH=clients/python /usr/bin/python3 bench/src/main/python/pytorch_overhead.py \
        --bootstrap-servers 127.0.0.1:9092 [--steps 400] [--rounds 2] [--probe-every 100]

An nn.LSTM (hidden 128, input 128, T 100, batch 32, CPU, float32) with a linear head, Adam, softmax
cross-entropy on random batches drawn before the clock starts. Rounds alternate, so drift hits both:
  unprobed  the plain training loop, no gradwatch at all;
  watched   the same loop inside a gradwatch.Watcher publishing to the broker: a StepRecord every
            step (watcher.clip_grad_norm_, s.record) and the probe (the unrolled twin, HIDDEN_GRAD
            and ACTIVATION tensors) every --probe-every steps, step 0 included.
Figures (one JSON object on the last line of stdout):
  unprobed_step_ms, watched_step_ms   mean wall time per step (the mean, since the probe's cost is in
                                      one step out of N)
  overhead                             watched / unprobed - 1 (target <= 0.05)
  probed_step_ms                       mean wall time of a probed step
  publish_ms_per_probed_step           the training thread's own time publishing a probed step: the
                                       wall time of s.record() and of leaving the step's context, where
                                       the client snapshots the step and hands it to its sender thread
                                       (the probe's math happens before, in the user's backward)
  publish_share_of_step                publish_ms_per_probed_step / unprobed_step_ms (target <= 0.03)
  records_per_step, bytes_per_step     read back from the broker: every record of the watched run on
                                       gradwatch.gradients and gradwatch.steps, value bytes, per step
  records_per_probed_step, bytes_per_probed_step
  dropped_records, delivery_errors     as the watcher counted them
"""
import argparse
import json
import statistics
import sys
import time
import uuid

import torch

import gradwatch

HIDDEN, INPUT, SEQ_LEN, BATCH, CLASSES = 128, 128, 100, 32, 10


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="PyTorch LSTM step time, unprobed vs watched by gradwatch")
    p.add_argument("--bootstrap-servers", required=True)
    p.add_argument("--steps", type=int, default=400, help="timed steps per round and mode")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--probe-every", type=int, default=100)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's own)")
    return p.parse_args(argv)


class Job:
    def __init__(self):
        torch.manual_seed(0)
        self.lstm = torch.nn.LSTM(INPUT, HIDDEN)
        self.head = torch.nn.Linear(HIDDEN, CLASSES)
        self.params = list(self.lstm.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=1e-3)
        g = torch.Generator().manual_seed(1)
        self.batches = [(torch.randn(SEQ_LEN, BATCH, INPUT, generator=g),
                         torch.randint(0, CLASSES, (BATCH,), generator=g)) for _ in range(8)]

    def loss(self, i):
        x, y = self.batches[i % len(self.batches)]
        out, _ = self.lstm(x)
        return torch.nn.functional.cross_entropy(self.head(out[-1]), y)

    def unprobed(self, steps, first):
        times = []
        for i in range(first, first + steps):
            start = time.perf_counter()
            self.optimizer.zero_grad()
            loss = self.loss(i)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
            self.optimizer.step()
            loss.item()
            times.append(time.perf_counter() - start)
        return times

    def watched(self, watcher, steps, first, probe_every):
        times, probed, publish = [], [], []
        for i in range(first, first + steps):
            start = time.perf_counter()
            self.optimizer.zero_grad()
            context = watcher.step(i, optimizer=self.optimizer)
            s = context.__enter__()
            loss = self.loss(i)
            loss.backward()
            watcher.clip_grad_norm_(self.params, 1.0)
            self.optimizer.step()
            publish_start = time.perf_counter()
            s.record(loss=loss)
            context.__exit__(None, None, None)
            end = time.perf_counter()
            times.append(end - start)
            if i % probe_every == 0:
                probed.append(end - start)
                publish.append(end - publish_start)
        return times, probed, publish


def broker_counts(bootstrap, run_id):
    """Records and value bytes of run_id on the gradients and steps topics, read back from the broker."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-" + uuid.uuid4().hex,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    counts = {}
    try:
        for topic in ("gradwatch.gradients", "gradwatch.steps"):
            metadata = consumer.list_topics(topic, timeout=10)
            partitions = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
            ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in partitions}
            consumer.assign(partitions)
            remaining = {p for p, end in ends.items() if end > 0}
            records = size = 0
            deadline = time.monotonic() + 60
            while remaining and time.monotonic() < deadline:
                for message in consumer.consume(1000, timeout=1.0):
                    if message.error():
                        continue
                    if message.key() == run_id.encode():
                        records += 1
                        size += len(message.value())
                    if message.offset() + 1 >= ends[message.partition()]:
                        remaining.discard(message.partition())
            counts[topic] = (records, size)
    finally:
        consumer.close()
    return counts


def stats_value(stats, *names):
    for name in names:
        value = stats.get(name) if isinstance(stats, dict) else getattr(stats, name, None)
        if value is not None:
            return value
    return None


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    job = Job()
    run_id = "bench-pytorch-" + uuid.uuid4().hex[:8]
    watcher = gradwatch.Watcher(run_id=run_id, bootstrap_servers=args.bootstrap_servers, probe_every=args.probe_every,
                                labels={"bench": "pytorch-overhead"})
    unprobed, watched, probed, publish = [], [], [], []
    step = 0
    with watcher:
        watcher.watch(job.lstm)
        job.unprobed(args.warmup, 0)
        # Watched steps are numbered on their own, so exactly one in probe_every is probed.
        watched_step = 0
        job.watched(watcher, 1, watched_step, args.probe_every)  # step 0: metadata and the first probe
        watched_step += 1
        for _ in range(args.rounds):
            unprobed += job.unprobed(args.steps, step)
            step += args.steps
            times, p, pub = job.watched(watcher, args.steps, watched_step, args.probe_every)
            watched_step += args.steps
            watched += times
            probed += p
            publish += pub
    stats = watcher.stats
    counts = broker_counts(args.bootstrap_servers, run_id)
    steps_published = watched_step
    probed_steps = len(range(0, watched_step, args.probe_every))
    gradient_records, gradient_bytes = counts["gradwatch.gradients"]
    step_records, step_bytes = counts["gradwatch.steps"]
    unprobed_ms = 1e3 * statistics.fmean(unprobed)
    publish_ms = 1e3 * statistics.fmean(publish)
    result = {
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "model": f"LSTM hidden {HIDDEN} input {INPUT} T {SEQ_LEN} batch {BATCH}, CPU float32, Adam",
        "steps_per_mode": len(unprobed), "probe_every": args.probe_every,
        "unprobed_step_ms": unprobed_ms,
        "unprobed_step_median_ms": 1e3 * statistics.median(unprobed),
        "watched_step_ms": 1e3 * statistics.fmean(watched),
        "watched_step_median_ms": 1e3 * statistics.median(watched),
        "overhead": statistics.fmean(watched) / statistics.fmean(unprobed) - 1,
        "probed_step_ms": 1e3 * statistics.fmean(probed),
        "probed_steps_timed": len(probed),
        "publish_ms_per_probed_step": publish_ms,
        "publish_share_of_step": publish_ms / unprobed_ms,
        "records_per_step": (gradient_records + step_records) / steps_published,
        "bytes_per_step": (gradient_bytes + step_bytes) / steps_published,
        "records_per_probed_step": gradient_records / probed_steps + 1,
        "bytes_per_probed_step": gradient_bytes / probed_steps + step_bytes / steps_published,
        "step_record_bytes": step_bytes / max(1, step_records),
        "steps_published": steps_published, "step_records_on_broker": step_records,
        "dropped_records": stats_value(stats, "dropped", "records_dropped"),
        "delivery_errors": stats_value(stats, "failed", "delivery_errors"),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())

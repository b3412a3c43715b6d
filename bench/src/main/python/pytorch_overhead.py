#!/usr/bin/python3
"""Scenario 6 of ./gradwatch bench: what watching costs a PyTorch job (BenchMain runs this).

    PYTHONPATH=clients/python /usr/bin/python3 bench/src/main/python/pytorch_overhead.py \
        --bootstrap-servers 127.0.0.1:9092 [--steps 400] [--rounds 2] [--probe-every 100]

An nn.LSTM (hidden 128, input 128, T 100, batch 32, CPU, float32) with a linear head, Adam, softmax
cross-entropy on random batches drawn before the clock starts. Three kinds of step, timed in
alternating rounds so drift hits all of them:
  unprobed  the plain training loop, no gradwatch at all;
  watched   the same loop inside a gradwatch.Watcher publishing to the broker, on a step the
            watcher does not probe: a StepRecord (watcher.clip_grad_norm_, s.record);
  probed    a step the watcher probes (step % probe_every == 0): the unrolled twin as that step's
            forward, and the HIDDEN_GRAD and ACTIVATION tensors of every timestep published.
Each round is one probed step followed by --steps watched ones, numbered as in a real run (100k,
100k+1, ...; --steps < N), and --steps unprobed ones. With probes every N steps, one step in N is probed, so
  watched_step_ms = ((N - 1) * mean watched + mean probed) / N
  overhead        = watched_step_ms / mean unprobed - 1                    (target <= 0.05)
This composes measured means instead of timing N-step stretches: on Debian's PyTorch (generic
BLAS, one thread) a step of this LSTM takes seconds, and the decomposition is exact as long as
steps are independent (they are: the sender works off the training thread).
Figures (one JSON object on the last line of stdout):
  unprobed_step_ms, watched_unprobed_step_ms, probed_step_ms, watched_step_ms, overhead
  publish_ms_per_probed_step           the training thread's own time publishing a probed step: the
                                       wall time of s.record() and of leaving the step's context, where
                                       the client snapshots the step and hands it to its sender thread
                                       (the probe's math happens before, in the user's backward)
  publish_share_of_step                publish_ms_per_probed_step / unprobed_step_ms (target <= 0.03)
  records_per_probed_step, bytes_per_probed_step, step_record_bytes
                                       read back from the broker: every record of the watched run on
                                       gradwatch.gradients and gradwatch.steps, value bytes
  records_per_step, bytes_per_step     averaged over N steps with one probed
  dropped_records, delivery_errors     as the watcher counted them
  client_publish_ms_per_step, client_bytes_sent, client_probed_steps
                                       the client's own Stats (publish_seconds averaged over every step)
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
    p.add_argument("--steps", type=int, default=20, help="timed unprobed and watched steps per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each with one probed step")
    p.add_argument("--warmup", type=int, default=3)
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
        times, cpu = [], []
        for i in range(first, first + steps):
            start, cpu_start = time.perf_counter(), time.process_time()
            self.optimizer.zero_grad()
            loss = self.loss(i)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
            self.optimizer.step()
            loss.item()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu_start)
        return times, cpu

    def watched(self, watcher, steps, first, probe_every):
        """Steps first .. first+steps-1 through the watcher; wall times, those of probed steps, their publishing."""
        times, cpu, probed, probed_cpu, publish = [], [], [], [], []
        for i in range(first, first + steps):
            start, cpu_start = time.perf_counter(), time.process_time()
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
            end, cpu_end = time.perf_counter(), time.process_time()
            times.append(end - start)
            cpu.append(cpu_end - cpu_start)
            if i % probe_every == 0:
                probed.append(end - start)
                probed_cpu.append(cpu_end - cpu_start)
                publish.append(end - publish_start)
        return times, cpu, probed, probed_cpu, publish


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
    n = args.probe_every
    if not 0 <= args.warmup < n - 1 or args.steps < 1 or args.rounds < 1:
        sys.exit(f"pytorch_overhead.py: needs 0 <= --warmup < --probe-every - 1, --steps >= 1, --rounds >= 1")
    stride = n * (1 + args.steps // n)  # each round starts on a probed step; its other steps are not probed
    unprobed, watched, probed, publish = [], [], [], []
    unprobed_cpu, watched_cpu, probed_cpu = [], [], []
    with watcher:
        watcher.watch(job.lstm)
        job.unprobed(args.warmup, 0)
        job.watched(watcher, 1, 0, n)  # step 0: metadata, the first probe, warm-up
        job.watched(watcher, args.warmup, 1, n)
        for round_ in range(1, args.rounds + 1):
            _, _, p, pc, pub = job.watched(watcher, 1, round_ * stride, n)
            probed += p
            probed_cpu += pc
            publish += pub
            times, cpu, _, _, _ = job.watched(watcher, args.steps, round_ * stride + 1, n)
            watched += times
            watched_cpu += cpu
            times, cpu = job.unprobed(args.steps, round_ * stride)
            unprobed += times
            unprobed_cpu += cpu
    stats = watcher.stats
    counts = broker_counts(args.bootstrap_servers, run_id)
    probed_steps = 1 + args.rounds
    steps_published = probed_steps + args.warmup + args.rounds * args.steps
    gradient_records, gradient_bytes = counts["gradwatch.gradients"]
    step_records, step_bytes = counts["gradwatch.steps"]
    # Medians for the many plain steps (a shared machine's load spikes hit single steps), the mean
    # for the few probed ones; CPU time of the whole process (training thread, sender, librdkafka).
    unprobed_ms = 1e3 * statistics.median(unprobed)
    watched_ms = 1e3 * statistics.median(watched)
    probed_ms = 1e3 * statistics.fmean(probed)
    per_step_ms = ((n - 1) * watched_ms + probed_ms) / n
    unprobed_cpu_ms = 1e3 * statistics.median(unprobed_cpu)
    per_step_cpu_ms = ((n - 1) * 1e3 * statistics.median(watched_cpu) + 1e3 * statistics.fmean(probed_cpu)) / n
    publish_ms = 1e3 * statistics.fmean(publish)
    step_record_bytes = step_bytes / max(1, step_records)
    records_probed = gradient_records / probed_steps + 1
    bytes_probed = gradient_bytes / probed_steps + step_record_bytes
    result = {
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "model": f"LSTM H {HIDDEN} IN {INPUT} T {SEQ_LEN} B {BATCH}, CPU F32, Adam",
        "steps_per_mode": len(unprobed), "probed_steps_timed": len(probed), "probe_every": n,
        "unprobed_step_ms": unprobed_ms,
        "unprobed_step_mean_ms": 1e3 * statistics.fmean(unprobed),
        "watched_unprobed_step_ms": watched_ms,
        "watched_unprobed_step_mean_ms": 1e3 * statistics.fmean(watched),
        "unprobed_cpu_ms": unprobed_cpu_ms,
        "watched_unprobed_cpu_ms": 1e3 * statistics.median(watched_cpu),
        "probed_cpu_ms": 1e3 * statistics.fmean(probed_cpu),
        "watched_cpu_ms": per_step_cpu_ms,
        "overhead_cpu": per_step_cpu_ms / unprobed_cpu_ms - 1,
        "probed_step_ms": probed_ms,
        "watched_step_ms": per_step_ms,
        "overhead": per_step_ms / unprobed_ms - 1,
        "publish_ms_per_probed_step": publish_ms,
        "publish_share_of_step": publish_ms / unprobed_ms,
        "records_per_probed_step": records_probed,
        "bytes_per_probed_step": bytes_probed,
        "step_record_bytes": step_record_bytes,
        "records_per_step": (records_probed + (n - 1)) / n,
        "bytes_per_step": (bytes_probed + (n - 1) * step_record_bytes) / n,
        "steps_published": steps_published, "step_records_on_broker": step_records,
        "dropped_records": stats_value(stats, "dropped", "records_dropped"),
        "delivery_errors": stats_value(stats, "failed", "delivery_errors"),
        # The client's own accounting (Stats.publish_seconds: snapshot + enqueue on the training thread).
        "client_publish_ms_per_step": 1e3 * (stats_value(stats, "publish_seconds") or float("nan")) / steps_published,
        "client_bytes_sent": stats_value(stats, "bytes_sent"),
        "client_probed_steps": stats_value(stats, "probed_steps"),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())

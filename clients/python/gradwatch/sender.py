"""Publishing off the training thread: a bounded queue of whole steps and one sender thread.

The training thread only calls :meth:`Sender.offer`, which never blocks: a step that does not fit
in the queue (counted in records) is dropped whole, counted, and reported (a warning once per
``warn_every`` dropped steps and ``StepRecord.dropped_records_total``). The sender thread copies
the tensors to the host, serialises, produces and polls the producer; delivery errors are counted,
never raised into the training step. :meth:`close` drains the queue and flushes.
"""
from __future__ import annotations

import collections
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Optional

from gradwatch._proto import gradwatch_pb2 as pb
from gradwatch.records import StepSnapshot, encode_step

LOG = logging.getLogger("gradwatch")

# Producer settings for gradient traffic under the user's own (same as the Java trainer's).
PRODUCER_DEFAULTS = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "5",
    "batch.size": str(256 * 1024),
    "queue.buffering.max.kbytes": str(64 * 1024),
    "message.timeout.ms": "60000",
    "client.id": "gradwatch-python",
}


@dataclass(frozen=True)
class Stats:
    """What the publisher did, in records unless named otherwise.

    records_sent: acknowledged by the broker; records_dropped: dropped whole-step because the queue
    was full (or the watcher closed); delivery_errors: produced but not delivered, or not producible;
    records_queued: waiting in the queue; steps_dropped: steps dropped; bytes_sent: value bytes
    acknowledged; publish_seconds: the training thread's own time spent publishing (snapshotting the
    step and queueing it; not the probe's math, not the sender thread); probed_steps: steps probed.
    """
    records_sent: int
    records_dropped: int
    delivery_errors: int
    records_queued: int
    steps_dropped: int
    bytes_sent: int = 0
    publish_seconds: float = 0.0
    probed_steps: int = 0

    # Short names.
    sent = property(lambda self: self.records_sent)
    dropped = property(lambda self: self.records_dropped)
    failed = property(lambda self: self.delivery_errors)


def make_producer(settings: Dict[str, str]):
    from confluent_kafka import Producer  # imported here so the rest of the package works without it
    properties = dict(PRODUCER_DEFAULTS)
    properties.update(settings)
    properties.setdefault("error_cb", _ErrorLog("producer"))
    return Producer(properties)


class _ErrorLog:
    """Logs librdkafka's client-level errors (broker down, refused credentials): the first, then one per minute."""

    def __init__(self, client: str):
        self.client = client
        self.last = -math.inf
        self.count = 0

    def __call__(self, error) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= 60:
            self.last = now
            LOG.warning("gradwatch: Kafka %s: %s (%d such errors so far; records wait, then count as failed)",
                        self.client, error, self.count)


class Sender:
    """Sends :class:`StepSnapshot` s from its own thread through ``producer`` (confluent_kafka.Producer-like)."""

    def __init__(self, producer, key: str, capacity_records: int = 8192, dtype: int = pb.F32,
                 warn_every: int = 100, encode: Callable = encode_step):
        if capacity_records < 1:
            raise ValueError(f"queue_size must be at least 1 record, got {capacity_records}")
        self._producer = producer
        self._key = key.encode("utf-8")
        self._capacity = capacity_records
        self._dtype = dtype
        self._warn_every = max(1, warn_every)
        self._encode = encode
        self._queue: Deque[StepSnapshot] = collections.deque()
        self._queued_records = 0
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._sent = 0
        self._dropped = 0
        self._dropped_steps = 0
        self._failed = 0
        self._bytes = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="gradwatch-sender", daemon=True)
        self._thread.start()

    # -- training thread ---------------------------------------------------------------------
    def offer(self, snapshot: StepSnapshot) -> bool:
        """Queues the whole step, or drops it whole when it does not fit. Never blocks on the broker."""
        count = snapshot.record_count()
        with self._lock:
            if self._closed or self._queued_records + count > self._capacity:
                self._dropped += count
                self._dropped_steps += 1
                dropped_steps, dropped = self._dropped_steps, self._dropped
                accepted = False
            else:
                self._queue.append(snapshot)
                self._queued_records += count
                self._ready.notify()
                accepted = True
        if not accepted and (dropped_steps - 1) % self._warn_every == 0:
            LOG.warning("gradwatch: step %d of run %s dropped (%d records): the publishing queue (%d records) is full "
                        "or closed; %d records of %d steps dropped so far", snapshot.step, snapshot.run_id, count,
                        self._capacity, dropped, dropped_steps)
        return accepted

    @property
    def dropped_records(self) -> int:
        with self._lock:
            return self._dropped + self._failed

    def stats(self) -> Stats:
        with self._lock:
            return Stats(self._sent, self._dropped, self._failed, self._queued_records, self._dropped_steps,
                         self._bytes)

    def close(self, timeout: float = 30.0) -> Stats:
        """Sends what is queued, flushes the producer, stops the thread."""
        with self._lock:
            self._closed = True
            self._ready.notify()
        self._thread.join(timeout)
        remaining = self._producer.flush(max(1.0, timeout / 2))
        if remaining:
            with self._lock:
                self._failed += remaining
        stats = self.stats()
        LOG.info("gradwatch: publisher closed: %d records sent, %d dropped, %d failed", stats.sent, stats.dropped,
                 stats.failed)
        return stats

    # -- sender thread -----------------------------------------------------------------------
    def _on_delivery(self, error, message) -> None:
        with self._lock:
            if error is None:
                self._sent += 1
                self._bytes += len(message.value()) if message is not None and message.value() else 0
            else:
                self._failed += 1
        if error is not None:
            LOG.debug("gradwatch: delivery failed: %s", error)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._ready.wait(0.1)
                    if not self._queue:
                        break
                snapshot = self._queue.popleft() if self._queue else None
                closed = self._closed
            if snapshot is None:
                self._producer.poll(0.05 if not closed else 0)
                if closed:
                    return
                continue
            try:
                self._send(snapshot)
            finally:
                with self._lock:
                    self._queued_records -= snapshot.record_count()

    def _send(self, snapshot: StepSnapshot) -> None:
        try:
            records = self._encode(snapshot, self._dtype)
        except Exception as error:  # a tensor the sender cannot read must not kill the sender thread
            with self._lock:
                self._failed += snapshot.record_count()
            LOG.warning("gradwatch: step %d not encoded: %s", snapshot.step, error)
            return
        for topic, value in records:
            self._produce(topic, value)
        self._producer.poll(0)

    def _produce(self, topic: str, value: bytes) -> None:
        for _ in range(50):
            try:
                self._producer.produce(topic, key=self._key, value=value, on_delivery=self._on_delivery)
                return
            except BufferError:
                # librdkafka's local queue is full: the broker is slow or down; wait for deliveries.
                self._producer.poll(0.1)
        with self._lock:
            self._failed += 1

"""The sender: a bounded queue of whole steps, never blocking the training thread."""
import logging
import threading
import time

import torch
from torch import nn

import gradwatch
from gradwatch import records
from gradwatch._proto import gradwatch_pb2 as pb
from gradwatch.sender import Sender
from conftest import RecordingProducer, decode


def snapshot(step, timesteps=4):
    tensors = {pb.ACTIVATION: torch.zeros(timesteps, 2, 3), pb.HIDDEN_GRAD: torch.ones(timesteps, 2, 3)}
    return records.StepSnapshot("run", step, 0, 1, [records.LayerTensors(0, pb.RNN, pb.TANH, tensors)],
                                records.StepValues(loss=1.0))


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_a_step_that_does_not_fit_is_dropped_whole_without_blocking(caplog):
    gate = threading.Event()  # the broker is stuck until the gate opens
    producer = RecordingProducer(gate=gate)
    sender = Sender(producer, "run", capacity_records=20, warn_every=3)
    assert sender.offer(snapshot(0))  # 9 records; the sender thread takes it and blocks in produce
    wait_until(lambda: producer.gate is not None and sender.stats().records_queued == 9)
    assert sender.offer(snapshot(1))  # 18 of 20 records queued
    caplog.set_level(logging.WARNING, logger="gradwatch")
    worst = 0.0
    for step in range(2, 9):
        started = time.perf_counter()
        assert not sender.offer(snapshot(step))
        worst = max(worst, time.perf_counter() - started)
    assert worst < 0.05  # never waits for the broker
    stats = sender.stats()
    assert stats.steps_dropped == 7 and stats.records_dropped == 7 * 9
    assert sender.dropped_records == 63
    warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(warnings) == 3  # dropped steps 1, 4 and 7 of the seven: once per warn_every
    gate.set()
    final = sender.close()  # (a failed assertion above leaves the sender thread stuck: a daemon, harmless)
    tensors, steps = decode(producer.records)
    assert sorted({r.step for r in tensors}) == [0, 1] and [s.step for s in steps] == [0, 1]
    assert final.records_sent == 18 and final.records_queued == 0
    assert producer.flushed == 1


def test_delivery_errors_are_counted_not_raised():
    producer = RecordingProducer(fail=True)
    sender = Sender(producer, "run")
    sender.offer(snapshot(0))
    stats = sender.close()
    assert stats.delivery_errors == 9 and stats.records_sent == 0


def test_close_sends_what_is_queued_and_later_offers_are_dropped():
    producer = RecordingProducer()
    sender = Sender(producer, "run", capacity_records=1000)
    for step in range(10):
        assert sender.offer(snapshot(step))
    sender.close()
    assert len(producer.records) == 90
    assert all(key == b"run" for _, key, _ in producer.records)
    assert not sender.offer(snapshot(10))


def test_records_go_out_per_layer_activations_first_then_hidden_grads_then_the_step_record():
    producer = RecordingProducer()
    sender = Sender(producer, "run")
    sender.offer(snapshot(0, timesteps=3))
    sender.close()
    topics = [t for t, _, _ in producer.records]
    assert topics == ["gradwatch.gradients"] * 6 + ["gradwatch.steps"]
    tensors, _ = decode(producer.records)
    assert [(r.kind, r.timestep) for r in tensors] == [(pb.ACTIVATION, t) for t in range(3)] + [
        (pb.HIDDEN_GRAD, t) for t in range(3)]


def test_f16_and_bf16_encodings_are_little_endian_halves():
    snap = snapshot(0, timesteps=1)
    snap.layers[0].tensors = {pb.HIDDEN_GRAD: torch.tensor([[[1.0, -2.0, 0.5]]])}
    for dtype, expected in ((pb.F16, b"\x00\x3c\x00\xc0\x00\x38"), (pb.BF16, b"\x80\x3f\x00\xc0\x00\x3f")):
        record = pb.TensorRecord()
        record.ParseFromString(records.encode_tensors(snap, dtype)[0])
        assert record.dtype == dtype and record.data == expected


def test_the_watcher_reports_dropped_records_in_later_step_records():
    gate = threading.Event()
    producer = RecordingProducer(gate=gate)
    rnn = nn.RNN(2, 3)
    try:
        with gradwatch.Watcher("drops", producer=producer, probe_every=1, queue_size=12) as watcher:
            watcher.watch(rnn)
            for step in range(4):
                if step == 3:
                    gate.set()  # the broker is back
                    wait_until(lambda: watcher.stats.records_queued == 0)
                with watcher.step(step):
                    rnn(torch.randn(4, 1, 2))[0].sum().backward()
                if step == 0:
                    wait_until(lambda: watcher.stats.records_queued == 9)  # taken by the stuck sender
            # Steps 1 and 2 (9 records each: 4 activations, 4 gradients, 1 StepRecord) found step 0's 9 of 12.
            assert watcher.stats.steps_dropped == 2
    finally:
        gate.set()
    _, steps = decode(producer.records)
    assert [(s.step, s.dropped_records_total) for s in steps] == [(0, 0), (3, 18)]
    assert steps[0].HasField("metadata") and not steps[1].HasField("metadata")
    assert watcher.stats.records_dropped == 18 and watcher.stats.records_sent == 18


def test_run_metadata_rides_on_the_first_step_that_gets_through():
    producer = RecordingProducer()
    with gradwatch.Watcher("meta", producer=producer, probe_every=1, queue_size=5) as watcher:
        rnn = watcher.watch(nn.RNN(2, 3))
        for step in range(2):
            if step == 1:
                watcher.probe_every = 0  # step 1 is a StepRecord alone: it fits
            with watcher.step(step):
                rnn(torch.randn(4, 1, 2))[0].sum().backward()
    _, steps = decode(producer.records)
    assert watcher.stats.steps_dropped == 1  # step 0: 9 records do not fit in 5
    assert [s.step for s in steps] == [1] and steps[0].metadata.cell == pb.RNN

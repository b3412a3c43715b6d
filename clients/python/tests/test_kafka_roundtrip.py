"""On a real broker (GRADWATCH_TEST_BOOTSTRAP=host:port, as the Java integration tests take it): a probed
step's records come back in order, and a command sent after the watcher started reaches the loop."""
import os
import time
import uuid

import pytest
import torch
from torch import nn

import gradwatch
from gradwatch import records
from gradwatch._proto import gradwatch_pb2 as pb

BOOTSTRAP = os.environ.get("GRADWATCH_TEST_BOOTSTRAP")
pytestmark = pytest.mark.skipif(not BOOTSTRAP, reason="set GRADWATCH_TEST_BOOTSTRAP to a broker with gradwatch's topics")


def consume(topic, run_id, count, timeout=60.0):
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"test-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": "false"})
    consumer.subscribe([topic])
    found = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() or message.key() != run_id.encode():
                continue
            found.append(message.value())
    finally:
        consumer.close()
    return found


def test_a_probed_step_arrives_whole_and_in_order_on_a_real_broker():
    run_id = f"py-roundtrip-{uuid.uuid4()}"
    rnn = nn.LSTM(3, 4, num_layers=2)
    with gradwatch.Watcher(run_id, bootstrap_servers=BOOTSTRAP, probe_every=2) as watcher:
        watcher.watch(rnn)
        for step in range(3):
            with watcher.step(step) as s:
                out, _ = rnn(torch.randn(5, 2, 3))
                loss = out[-1].sum()
                loss.backward()
                s.record(loss=loss)
    assert watcher.stats.records_sent == 2 * 2 * 2 * 5 + 3 and watcher.stats.delivery_errors == 0
    assert watcher.stats.bytes_sent > 0
    tensors = []
    for value in consume("gradwatch.gradients", run_id, 40):
        record = pb.TensorRecord()
        record.ParseFromString(value)
        tensors.append((record.step, record.layer, record.kind, record.timestep))
    expected = [(step, layer, kind, t) for step in (0, 2) for layer in (0, 1)
                for kind in (pb.ACTIVATION, pb.HIDDEN_GRAD) for t in range(5)]
    assert tensors == expected
    steps = []
    for value in consume("gradwatch.steps", run_id, 3):
        record = pb.StepRecord()
        record.ParseFromString(value)
        steps.append(record.step)
    assert steps == [0, 1, 2]


def test_a_command_sent_after_the_watcher_started_reaches_the_loop_and_is_echoed():
    from confluent_kafka import Producer
    run_id = f"py-control-{uuid.uuid4()}"
    producer = Producer({"bootstrap.servers": BOOTSTRAP})

    def send(cid, issued_at_ms, **which):
        command = pb.ControlCommand(run_id=run_id, command_id=cid, issued_at_ms=issued_at_ms, issued_by="test", **which)
        producer.produce("gradwatch.control", key=run_id.encode(), value=command.SerializeToString())
        producer.flush(10)

    send("before-start", records.now_ms(), stop={})  # an old command: not for this run
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradwatch.Watcher(run_id, bootstrap_servers=BOOTSTRAP, closed_loop=True, probe_every=0) as watcher:
        send("lr-half", records.now_ms(), scale_learning_rate={"factor": 0.5})
        deadline = time.monotonic() + 60
        step = 0
        while optimizer.param_groups[0]["lr"] == 0.1:
            assert time.monotonic() < deadline, "the command did not arrive"
            with watcher.step(step, optimizer=optimizer, model=model) as s:
                model(torch.ones(1, 2)).sum().backward()
                s.record(loss=1.0)
            step += 1
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    echoed = []
    for value in consume("gradwatch.steps", run_id, step):
        record = pb.StepRecord()
        record.ParseFromString(value)
        echoed.extend(record.applied_commands)
    assert echoed == ["lr-half"]

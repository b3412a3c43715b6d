"""Shared test fixtures: a stand-in for confluent_kafka.Producer that keeps what was produced.

It stands in for the client object, not for a broker: tests that need a broker use a real one
(GRADWATCH_TEST_BOOTSTRAP_SERVERS, see test_kafka_roundtrip.py).
"""
import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


class _Message:
    def __init__(self, topic, key, value):
        self._topic, self._key, self._value = topic, key, value

    def topic(self):
        return self._topic

    def key(self):
        return self._key

    def value(self):
        return self._value


class RecordingProducer:
    def __init__(self, fail=False, gate=None):
        self.records = []
        self.fail = fail
        self.gate = gate  # a threading.Event the sender waits on before producing (a stuck broker)
        self.flushed = 0
        self._callbacks = []
        self._lock = threading.Lock()

    def produce(self, topic, key=None, value=None, on_delivery=None):
        if self.gate is not None:
            self.gate.wait()
        with self._lock:
            self.records.append((topic, key, value))
            self._callbacks.append((on_delivery, _Message(topic, key, value)))

    def poll(self, timeout=0):
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback, message in callbacks:
            if callback is not None:
                callback("delivery failed" if self.fail else None, message)
        return len(callbacks)

    def flush(self, timeout=None):
        self.flushed += 1
        self.poll()
        return 0


@pytest.fixture
def producer():
    return RecordingProducer()


def decode(records):
    """(tensors, steps): the TensorRecords and StepRecords among produced (topic, key, value) triples."""
    from gradwatch._proto import gradwatch_pb2 as pb
    tensors, steps = [], []
    for topic, _key, value in records:
        if topic == "gradwatch.gradients":
            record = pb.TensorRecord()
            record.ParseFromString(value)
            tensors.append(record)
        elif topic == "gradwatch.steps":
            record = pb.StepRecord()
            record.ParseFromString(value)
            steps.append(record)
    return tensors, steps


def tensor_values(record):
    import numpy as np
    return np.frombuffer(record.data, dtype="<f4").reshape(tuple(record.shape))

"""Shared test fixtures: a stand-in for confluent_kafka.Producer that keeps what was produced.

It stands in for the client object, not for a broker: tests that need a broker use a real one
(GRADWATCH_TEST_BOOTSTRAP_SERVERS, see test_kafka_roundtrip.py).
"""
import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


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
            self._callbacks.append(on_delivery)

    def poll(self, timeout=0):
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            if callback is not None:
                callback("delivery failed" if self.fail else None, None)
        return len(callbacks)

    def flush(self, timeout=None):
        self.flushed += 1
        self.poll()
        return 0


@pytest.fixture
def producer():
    return RecordingProducer()

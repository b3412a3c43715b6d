"""The Python reduction against the Java one: the shared fixtures of protocol/src/test/resources/summary-fixtures.

Each fixture is a step's TensorRecords and the GradientSummary Java's reduction gives
(GradientSummaryFixturesTest checks the Java side against the same files); here the Python
reduction of the same tensors must give the same bytes.
"""
import math
import pathlib
import struct

import numpy as np
import pytest
import torch

import gradwatch
from gradwatch import records, summaries
from gradwatch._proto import gradwatch_pb2 as pb

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "protocol/src/test/resources/summary-fixtures"
CASES = sorted(p.stem for p in FIXTURES.glob("*.summary"))


def _frames(path):
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from(">i", data, offset)
        yield pb.TensorRecord.FromString(data[offset + 4:offset + 4 + length])
        offset += 4 + length


def _values(record):
    if record.dtype == pb.F32:
        flat = np.frombuffer(record.data, dtype="<f4")
    elif record.dtype == pb.F16:
        flat = np.frombuffer(record.data, dtype="<f2").astype(np.float32)
    else:
        flat = (np.frombuffer(record.data, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return flat.reshape(list(record.shape))


def test_there_are_fixtures():
    assert len(CASES) >= 6


@pytest.mark.parametrize("case", CASES)
def test_the_python_reduction_of_each_fixture_is_byte_for_byte_the_java_one(case):
    tensors = list(_frames(FIXTURES / f"{case}.tensors"))
    expected = (FIXTURES / f"{case}.summary").read_bytes()
    first = tensors[0]
    by_kind = {}
    for record in tensors:
        by_kind.setdefault(record.kind, [None] * record.seq_len)[record.timestep] = _values(record)
    summary = summaries.summarize(first.run_id, first.step, first.layer, first.cell, first.activation, by_kind,
                                  max(r.event_time_ms for r in tensors), max(r.num_layers for r in tensors))
    if summary.SerializeToString() != expected:
        java = pb.GradientSummary.FromString(expected)
        assert str(summary) == str(java)  # a readable difference
    assert summary.SerializeToString() == expected


def test_nan_and_infinity_are_counted_apart_and_a_timestep_with_nothing_finite_has_nan_norms():
    grads = [np.array([[3, -4], [np.nan, np.inf]], dtype=np.float32), np.full((2, 2), np.nan, dtype=np.float32)]
    summary = summaries.summarize("r", 0, 0, pb.RNN, pb.TANH, {pb.HIDDEN_GRAD: grads}, 1, 1)
    assert list(summary.norm[:1]) == [5.0] and math.isnan(summary.norm[1])
    assert list(summary.non_finite) == [2, 4]
    assert not summary.HasField("activations")


def test_encode_summaries_publishes_one_summary_per_layer_and_the_step_record():
    t, b, h = 4, 3, 5
    layer = records.LayerTensors(layer=0, cell=pb.RNN, activation=pb.RELU, tensors={
        pb.ACTIVATION: torch.relu(torch.randn(t, b, h)), pb.HIDDEN_GRAD: torch.randn(t, b, h)})
    snapshot = records.StepSnapshot(run_id="r", step=2, event_time_ms=7, num_layers=1, layers=[layer],
                                    values=records.StepValues(loss=0.5, seq_len=t))
    out = records.encode_summaries(snapshot)
    assert [topic for topic, _ in out] == [summaries.TOPIC_SUMMARIES, records.TOPIC_STEPS]
    summary = pb.GradientSummary.FromString(out[0][1])
    assert summary.seq_len == t and summary.units == h and summary.activations.values == t * b * h
    assert summary.norm[0] == pytest.approx(float(layer.tensors[pb.HIDDEN_GRAD][0].double().norm()), rel=1e-6)
    # what the tensors path would send of the same step, reduced: the same summary
    tensors = [pb.TensorRecord.FromString(v) for v in records.encode_tensors(snapshot)]
    by_kind = {}
    for record in tensors:
        by_kind.setdefault(record.kind, [None] * record.seq_len)[record.timestep] = _values(record)
    again = summaries.summarize("r", 2, 0, pb.RNN, pb.RELU, by_kind, 7, 1)
    assert again.SerializeToString() == out[0][1]


def _watched_lstm_step(publish):
    from conftest import RecordingProducer

    torch.manual_seed(3)
    lstm = torch.nn.LSTM(4, 6, num_layers=2, batch_first=True)
    x = torch.randn(3, 5, 4)
    producer = RecordingProducer()
    with gradwatch.Watcher("pt-summary", producer=producer, probe_every=1, publish=publish) as watcher:
        watcher.watch(lstm)
        with watcher.step(0):
            out, _ = lstm(x)
            out[:, -1].pow(2).sum().backward()
    return producer.records


def test_watcher_publish_summaries_sends_per_layer_the_reduction_of_what_publish_tensors_sends():
    tensor_records = _watched_lstm_step("tensors")
    summary_records = _watched_lstm_step("summaries")
    assert {topic for topic, _, _ in summary_records} == {summaries.TOPIC_SUMMARIES, records.TOPIC_STEPS}
    sent = [pb.GradientSummary.FromString(v) for t, _, v in summary_records if t == summaries.TOPIC_SUMMARIES]
    assert [s.layer for s in sent] == [0, 1]
    tensors = [pb.TensorRecord.FromString(v) for t, _, v in tensor_records if t == records.TOPIC_GRADIENTS]
    for summary in sent:
        by_kind = {}
        for record in tensors:
            if record.layer == summary.layer:
                by_kind.setdefault(record.kind, [None] * record.seq_len)[record.timestep] = _values(record)
        expected = summaries.summarize(summary.run_id, 0, summary.layer, summary.cell, summary.activation, by_kind,
                                       summary.event_time_ms, summary.num_layers)
        assert summary.SerializeToString() == expected.SerializeToString()
        assert summary.seq_len == 5 and summary.units == 6 and summary.activations.values == 5 * 3 * 6


def test_watcher_rejects_an_unknown_publish_mode():
    with pytest.raises(ValueError, match="publish must be"):
        gradwatch.Watcher("r", publish="histograms")

"""The StepRecord a step publishes: loss, learning rate, norms before and after clipping, metadata."""
import copy
import math

import pytest
import torch
from torch import nn

import gradwatch
from gradwatch._proto import gradwatch_pb2 as pb
from conftest import RecordingProducer, decode


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def run(steps=2, clip=0.02, accuracy=True, **watcher_args):
    torch.manual_seed(0)
    model = Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    reference = copy.deepcopy(model)
    x, y = torch.randn(4, 7, 3), torch.tensor([0, 1, 1, 0])
    producer = RecordingProducer()
    expected = []
    with gradwatch.Watcher("steps", producer=producer, labels={"team": "nlp"}, task="toy", init="default",
                           **watcher_args) as watcher:
        watcher.watch(model.rnn)
        for step in range(steps):
            optimizer.zero_grad()
            with watcher.step(step, optimizer=optimizer, model=model) as s:
                logits = model(x)
                loss = nn.functional.cross_entropy(logits, y)
                loss.backward()
                grad_norms = {n: p.grad.norm().item() for n, p in model.named_parameters()}
                norm = watcher.clip_grad_norm_(model.parameters(), max_norm=clip)
                optimizer.step()
                acc = (logits.argmax(1) == y).float().mean() if accuracy else None
                s.record(loss=loss, accuracy=acc)
            expected.append(dict(loss=loss.item(), norm=norm.item(), grad_norms=grad_norms,
                                 param_norms={n: p.norm().item() for n, p in model.named_parameters()},
                                 accuracy=acc.item() if accuracy else math.nan))
    # torch's own clipping on the same step, for the returned norm and the clipped gradients
    reference_opt = torch.optim.SGD(reference.parameters(), lr=0.3)
    nn.functional.cross_entropy(reference(x), y).backward()
    torch_norm = nn.utils.clip_grad_norm_(reference.parameters(), clip if clip is not None else watcher_args["clip_norm"])
    reference_opt.step()
    _, records = decode(producer.records)
    return records, expected, model, reference, torch_norm


def test_step_records_carry_loss_rate_norms_and_accuracy():
    records, expected, model, reference, torch_norm = run()
    assert [r.step for r in records] == [0, 1]
    for record, want in zip(records, expected):
        assert record.run_id == "steps"
        assert record.loss == pytest.approx(want["loss"], rel=1e-6)
        assert record.learning_rate == pytest.approx(0.3)
        assert record.grad_norm == pytest.approx(want["norm"], rel=1e-6)
        assert record.grad_norm_clipped == pytest.approx(min(want["norm"], 0.02))
        assert records[0].grad_norm > 0.02  # the first step is clipped
        assert dict(record.param_grad_norms) == pytest.approx(want["grad_norms"], rel=1e-5)  # before clipping
        assert dict(record.param_norms) == pytest.approx(want["param_norms"], rel=1e-6)  # after the update
        assert record.accuracy == pytest.approx(want["accuracy"])
        assert record.seq_len == 7 and record.dropped_records_total == 0 and record.event_time_ms > 0
    assert sorted(records[0].param_grad_norms) == sorted(n for n, _ in model.named_parameters())
    # watcher.clip_grad_norm_ is torch's clip_grad_norm_: same norm, same update
    assert records[0].grad_norm == pytest.approx(float(torch_norm), rel=1e-6)


def test_the_first_step_record_carries_the_run_metadata():
    records, *_ = run(clip=1.0)
    metadata = records[0].metadata
    assert metadata.cell == pb.LSTM and metadata.activation == pb.TANH
    assert (metadata.num_layers, metadata.hidden_size, metadata.input_size, metadata.batch_size) == (2, 8, 3, 4)
    assert (metadata.optimizer, metadata.task, metadata.init) == ("SGD", "toy", "default")
    assert metadata.clip_norm == 1.0  # the max_norm of the step's clip_grad_norm_ call
    assert dict(metadata.labels) == {"team": "nlp"}
    assert not records[1].HasField("metadata")


def test_clip_norm_given_to_the_watcher_is_the_metadata_clip_norm_and_accuracy_is_nan_when_not_given():
    records, *_ = run(clip=None, accuracy=False, clip_norm=0.5)
    assert records[0].metadata.clip_norm == 0.5
    assert records[0].grad_norm_clipped == pytest.approx(min(0.5, records[0].grad_norm))
    assert math.isnan(records[0].accuracy)


def test_without_clip_grad_norm_the_norm_is_measured_at_record_time():
    model = nn.Linear(3, 2)
    producer = RecordingProducer()
    with gradwatch.Watcher("plain", producer=producer) as watcher:
        with watcher.step(0, model=model) as s:
            model(torch.ones(1, 3)).sum().backward()
            s.record(loss=1.5, learning_rate=0.01)
        with watcher.step(1, model=model):
            pass  # no record(): the step is still published, loss NaN
    _, records = decode(producer.records)
    expected = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
    assert records[0].grad_norm == pytest.approx(expected) and records[0].grad_norm_clipped == records[0].grad_norm
    assert records[0].loss == 1.5 and records[0].learning_rate == 0.01
    assert math.isnan(records[1].loss) and [r.step for r in records] == [0, 1]


def test_bad_arguments_are_refused_with_the_rule_broken():
    with pytest.raises(ValueError, match="run_id"):
        gradwatch.Watcher("bad\nid")
    with pytest.raises(ValueError, match="probe_every"):
        gradwatch.Watcher("r", probe_every=-1)
    with pytest.raises(ValueError, match="dtype"):
        gradwatch.Watcher("r", dtype="F64")
    with pytest.raises(ValueError, match="clip_norm"):
        gradwatch.Watcher("r", clip_norm=0)
    with pytest.raises(RuntimeError, match="context manager"):
        gradwatch.Watcher("r", producer=RecordingProducer()).step(0)

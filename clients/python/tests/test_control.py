"""The closed loop: which control records are kept, how commands are applied, and their echo."""
import math
import queue
import threading

import pytest
import torch
from torch import nn

import gradwatch
from gradwatch import control, records
from gradwatch._proto import gradwatch_pb2 as pb
from conftest import RecordingProducer, decode

STARTED = 1_000_000


def command(run="run", cid="c1", issued_at=None, **which):
    """A command issued now (after STARTED and after any watcher of the test started), unless told otherwise."""
    issued_at = records.now_ms() if issued_at is None else issued_at
    return pb.ControlCommand(run_id=run, command_id=cid, issued_at_ms=issued_at, reason="test", **which)


def test_only_well_formed_commands_for_this_run_issued_after_it_started_are_kept():
    good = command(stop=pb.ControlCommand.Stop())
    parse = lambda key, value: control.parse_command(key, value, "run", STARTED)  # noqa: E731
    assert parse(b"run", good.SerializeToString()) == good
    assert parse(b"other", good.SerializeToString()) is None
    assert parse(b"run", command(run="other", stop={}).SerializeToString()) is None  # keyed here, addressed elsewhere
    assert parse(b"run", command(issued_at=STARTED - 1, stop={}).SerializeToString()) is None  # an old run's
    assert parse(b"run", command(issued_at=0, stop={}).SerializeToString()) is not None  # no time: taken as now
    assert parse(b"run", b"\xff\xff\xff") is None  # malformed
    assert parse(b"run", command().SerializeToString()) is None  # no command in the oneof
    assert parse(None, good.SerializeToString()) is None and parse(b"run", None) is None
    assert parse(b"\xff", good.SerializeToString()) is None


def test_commands_change_the_clip_norm_and_every_param_groups_learning_rate():
    a, b = nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}])
    state = control.ControlState(clip_norm=5.0)
    assert control.apply_command(command(cid="clip", set_clip_norm={"max_norm": 0.5}), state, optimizer)
    assert control.apply_command(command(cid="lr", scale_learning_rate={"factor": 0.5}), state, optimizer)
    assert state.clip_norm == 0.5
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.05, 0.005])
    for bad in (command(cid="x", set_clip_norm={"max_norm": 0.0}), command(cid="y", set_clip_norm={"max_norm": math.nan}),
                command(cid="z", scale_learning_rate={"factor": -1.0}), command(cid="w", scale_learning_rate={"factor": math.inf})):
        assert not control.apply_command(bad, state, optimizer)
    assert not control.apply_command(command(cid="no-opt", scale_learning_rate={"factor": 2.0}), state, None)
    assert state.applied == ["clip", "lr"] and state.clip_norm == 0.5
    assert control.apply_command(command(cid="s", stop={}), state, optimizer) and state.stop.command_id == "s"


class Message:
    def __init__(self, key, value):
        self._key, self._value = key, value

    def error(self):
        return None

    def key(self):
        return self._key

    def value(self):
        return self._value


class FeedingConsumer:
    """Stands in for confluent_kafka.Consumer: the test feeds the records a broker would deliver."""
    instances = []

    def __init__(self, properties):
        self.properties = properties
        self.messages = queue.Queue()
        self.subscribed = None
        self.closed = False
        FeedingConsumer.instances.append(self)

    def subscribe(self, topics, on_assign=None):
        self.subscribed = topics
        self.partitions = [type("TopicPartition", (), {"offset": -1001})()]
        on_assign(self, self.partitions)

    def get_watermark_offsets(self, partition, timeout=None):
        return 0, 7  # the end as of the assignment

    def assign(self, partitions):
        self.assigned = [p.offset for p in partitions]

    def poll(self, timeout):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self.closed = True

    def feed(self, listener, cmd, key=b"run"):
        self.messages.put(Message(key, cmd.SerializeToString()))
        deadline = threading.Event()
        for _ in range(1000):  # until the listener thread has taken it
            if self.messages.empty() and listener._pending:
                return
            deadline.wait(0.005)
        raise AssertionError("the listener did not take the command")


def training(watcher, optimizer, model, steps, x, y, feeds=None):
    for step in range(steps):
        optimizer.zero_grad()
        for cmd in (feeds or {}).get(step, []):
            FeedingConsumer.instances[-1].feed(watcher._listener, cmd)
        with watcher.step(step, optimizer=optimizer, model=model) as s:
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            watcher.clip_grad_norm_(model.parameters())
            optimizer.step()
            s.record(loss=loss)


def closed_loop_watcher(producer, **kw):
    return gradwatch.Watcher("run", producer=producer, closed_loop=True, consumer_factory=FeedingConsumer,
                             probe_every=0, **kw)


def test_the_listener_has_its_own_group_starts_at_the_end_and_subscribes_before_the_first_step():
    with closed_loop_watcher(RecordingProducer()), closed_loop_watcher(RecordingProducer()):
        first, second = FeedingConsumer.instances[-2:]
        assert first.subscribed == ["gradwatch.control"]
        assert first.properties["group.id"] != second.properties["group.id"]
        assert first.properties["group.id"].startswith("gradwatch-python-run-")
        assert first.properties["auto.offset.reset"] == "latest"
        assert first.properties["enable.auto.commit"] == "false"
        assert first.assigned == [7]  # started at the end resolved when assigned, not later
    assert first.closed and second.closed


def test_applied_commands_take_effect_at_the_next_step_and_are_echoed_once():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3) * 10, torch.randn(8, 1)
    producer = RecordingProducer()
    with closed_loop_watcher(producer, clip_norm=100.0) as watcher:
        training(watcher, optimizer, model, 4, x, y, feeds={
            1: [command(cid="clip-1", set_clip_norm={"max_norm": 0.25})],
            2: [command(cid="lr-1", scale_learning_rate={"factor": 0.1}), command(cid="bad", set_clip_norm={})]})
    _, steps = decode(producer.records)
    assert [list(s.applied_commands) for s in steps] == [[], ["clip-1"], ["lr-1"], []]
    assert steps[0].grad_norm_clipped == steps[0].grad_norm  # 100 does not clip
    assert all(s.grad_norm_clipped == pytest.approx(0.25) for s in steps[1:])
    assert [s.learning_rate for s in steps] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    assert steps[0].metadata.labels["gradwatch.closed-loop"] == "true"
    assert steps[0].metadata.clip_norm == 100.0


def test_a_learning_rate_scale_survives_a_warm_up_that_sets_the_rate_through_the_watcher():
    model = nn.Linear(3, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    producer = RecordingProducer()
    with closed_loop_watcher(producer) as watcher:
        for step in range(5):
            if step in (2, 4):
                FeedingConsumer.instances[-1].feed(watcher._listener, command(
                    cid=f"lr-{step}", scale_learning_rate={"factor": 0.1}))
            optimizer.zero_grad()
            with watcher.step(step, optimizer=optimizer, model=model) as s:
                watcher.set_learning_rate(optimizer, 0.01 * (step + 1))  # the warm-up assigns lr every step
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
                s.record(loss=loss)
        assert watcher.learning_rate_scale == pytest.approx(0.01)
    _, steps = decode(producer.records)
    assert [s.learning_rate for s in steps] == pytest.approx([0.01, 0.02, 0.003, 0.004, 0.0005])
    assert [list(s.applied_commands) for s in steps] == [[], [], ["lr-2"], [], ["lr-4"]]
    with pytest.raises(ValueError, match="learning_rate"):
        watcher.set_learning_rate(optimizer, math.nan)


def test_stop_runs_the_checkpoint_hook_then_raises_at_the_next_step_and_the_watcher_still_flushes():
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []
    producer = RecordingProducer()
    with pytest.raises(gradwatch.StopTraining, match="stop-1") as raised:
        with closed_loop_watcher(producer, checkpoint=lambda c: calls.append(("checkpoint", c.command_id))) as watcher:
            training(watcher, optimizer, model, 5, torch.randn(4, 3), torch.randn(4, 1),
                     feeds={2: [command(cid="stop-1", stop={})]})
    assert raised.value.command.command_id == "stop-1"
    assert calls == [("checkpoint", "stop-1")]
    _, steps = decode(producer.records)
    assert [s.step for s in steps] == [0, 1]  # step 2 never ran; steps 0 and 1 were flushed on exit
    assert producer.flushed == 1


def test_an_on_stop_callback_runs_on_the_training_thread_instead_of_raising():
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    producer = RecordingProducer()
    with closed_loop_watcher(producer, on_stop=lambda c: seen.append((c.command_id, threading.current_thread()))) as w:
        training(w, optimizer, model, 3, torch.randn(4, 3), torch.randn(4, 1), feeds={1: [command(cid="stop-2", stop={})]})
    assert seen == [("stop-2", threading.main_thread())]
    _, steps = decode(producer.records)
    assert [list(s.applied_commands) for s in steps] == [[], ["stop-2"], []]


def test_commands_for_other_runs_are_not_applied():
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    producer = RecordingProducer()
    with closed_loop_watcher(producer) as watcher:
        consumer = FeedingConsumer.instances[-1]
        consumer.messages.put(Message(b"other", command(run="other", cid="o", stop={}).SerializeToString()))
        consumer.messages.put(Message(b"run", command(cid="mine", scale_learning_rate={"factor": 2.0})
                                      .SerializeToString()))
        consumer.feed(watcher._listener, command(cid="old", issued_at=1, stop={}))  # before the run started
        training(watcher, optimizer, model, 1, torch.randn(4, 3), torch.randn(4, 1))
    _, steps = decode(producer.records)
    assert list(steps[0].applied_commands) == ["mine"]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2)


def test_a_refused_listener_makes_start_raise_with_kafkas_reason():
    from confluent_kafka import KafkaError

    class RefusingConsumer(FeedingConsumer):
        def subscribe(self, topics, on_assign=None):
            self.properties["error_cb"](KafkaError(KafkaError._AUTHENTICATION))

    with pytest.raises(RuntimeError, match="refused.*Authentication failure"):
        gradwatch.Watcher("run", producer=RecordingProducer(), closed_loop=True,
                          consumer_factory=RefusingConsumer).start()
    assert control.refused(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    assert not control.refused(KafkaError(KafkaError._TRANSPORT))


def test_a_step_that_raises_publishes_nothing_restores_the_module_and_echoes_its_commands_next_step():
    rnn = nn.GRU(2, 3)
    optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1)
    producer = RecordingProducer()
    with closed_loop_watcher(producer) as watcher:
        watcher.probe_every = 1
        watcher.watch(rnn)
        FeedingConsumer.instances[-1].feed(watcher._listener, command(cid="lr-x", scale_learning_rate={"factor": 0.5}))
        with pytest.raises(ZeroDivisionError):
            with watcher.step(0, optimizer=optimizer):
                rnn(torch.randn(4, 1, 2))
                1 / 0
        assert "forward" not in rnn.__dict__
        with watcher.step(1, optimizer=optimizer):
            rnn(torch.randn(4, 1, 2))[0].sum().backward()
    tensors, steps = decode(producer.records)
    assert [(s.step, list(s.applied_commands)) for s in steps] == [(1, ["lr-x"])]
    assert {r.step for r in tensors} == {1}

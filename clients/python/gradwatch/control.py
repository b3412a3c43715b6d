"""The closed loop: commands on ``gradwatch.control`` for this run, and how they are applied.

The listener reads the whole topic in a consumer group of its own (``gradwatch-python-<run>-<uuid>``),
from the end (``auto.offset.reset=latest``, no committed offsets, no auto commit), and keeps the
commands keyed with its run id, addressed to its run and issued at or after the run started
(``issued_at_ms``; 0 counts as "now"). :meth:`ControlListener.start` returns once the partitions are
assigned at their end offsets as of that moment (read from the broker in the assignment callback),
so a command sent after it is not missed.

Commands are applied on the training thread, between steps (at the start of ``watcher.step``),
by :func:`apply_command`: pure with respect to Kafka, so tests feed it messages directly.
"""
from __future__ import annotations

import logging
import math
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from gradwatch._proto import gradwatch_pb2 as pb
from gradwatch.config import librdkafka_settings
from gradwatch.records import TOPIC_CONTROL

LOG = logging.getLogger("gradwatch")


# KafkaError codes by which a broker refuses a client: wrong credentials or missing ACLs.
_REFUSALS = {-169, 29, 30, 31}  # _AUTHENTICATION, TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED


def refused(error) -> bool:
    """Whether a confluent_kafka.KafkaError says the broker refused the client (credentials, ACLs) or is fatal."""
    try:
        return error.code() in _REFUSALS or error.fatal()
    except AttributeError:
        return False


class StopTraining(Exception):
    """Raised by ``watcher.step`` after a stop command (and the checkpoint hook), unless ``on_stop`` is given."""

    def __init__(self, command: pb.ControlCommand):
        self.command = command
        super().__init__(f"gradwatch: stop requested for run {command.run_id} by {command.issued_by or 'unknown'}"
                         f" (command {command.command_id or '(no id)'}): {command.reason or 'no reason given'}")


def parse_command(key: Optional[bytes], value: Optional[bytes], run_id: str, started_ms: int
                  ) -> Optional[pb.ControlCommand]:
    """The command in one control record if it is for this run and not older than the run; else None."""
    if key is None or value is None:
        return None
    try:
        if key.decode("utf-8") != run_id:
            return None
    except UnicodeDecodeError:
        return None
    command = pb.ControlCommand()
    try:
        command.ParseFromString(value)
    except Exception as error:  # protobuf raises DecodeError (and others on some runtimes)
        LOG.warning("gradwatch: ignoring a malformed control command for run %s: %s", run_id, error)
        return None
    if command.run_id != run_id:
        LOG.warning("gradwatch: ignoring control command %s keyed %s but addressed to run %s", command.command_id,
                    run_id, command.run_id)
        return None
    if command.issued_at_ms and command.issued_at_ms < started_ms:
        LOG.info("gradwatch: ignoring control command %s issued before the run started", command.command_id)
        return None
    if command.WhichOneof("command") is None:
        LOG.warning("gradwatch: ignoring empty control command %s", command.command_id)
        return None
    return command


@dataclass
class ControlState:
    """What the commands changed: the clip norm the watcher applies, applied ids not yet echoed, a pending stop.

    ``learning_rate_scale`` is the product of every applied scale_learning_rate factor, so a user's
    schedule that sets ``lr`` each step can keep the command in force (``Watcher.set_learning_rate``).
    """
    clip_norm: Optional[float] = None
    learning_rate_scale: float = 1.0
    applied: List[str] = field(default_factory=list)
    stop: Optional[pb.ControlCommand] = None


def apply_command(command: pb.ControlCommand, state: ControlState, optimizer=None) -> bool:
    """Applies one command to ``state`` and the optimizer's param_groups; True when applied (its id then echoed)."""
    cid = command.command_id or "(no id)"
    which = command.WhichOneof("command")
    if which == "set_clip_norm":
        max_norm = command.set_clip_norm.max_norm
        if not (max_norm > 0 and math.isfinite(max_norm)):
            LOG.warning("gradwatch: ignored clip norm %r (%s): must be a positive number", max_norm, cid)
            return False
        state.clip_norm = max_norm
        LOG.warning("gradwatch: control: clip norm set to %g (%s, %s)", max_norm, cid, command.reason)
    elif which == "scale_learning_rate":
        factor = command.scale_learning_rate.factor
        if not (factor > 0 and math.isfinite(factor)):
            LOG.warning("gradwatch: ignored learning-rate factor %r (%s): must be a positive number", factor, cid)
            return False
        if optimizer is None:
            LOG.warning("gradwatch: ignored learning-rate factor %g (%s): watcher.step() was given no optimizer",
                        factor, cid)
            return False
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * factor
        state.learning_rate_scale *= factor
        LOG.warning("gradwatch: control: learning rate x%g = %g (%s, %s)", factor, optimizer.param_groups[0]["lr"],
                    cid, command.reason)
    elif which == "stop":
        state.stop = command
        LOG.warning("gradwatch: control: stop (%s, %s)", cid, command.reason)
    else:
        return False
    state.applied.append(cid)
    return True


class ControlListener:
    """Consumes ``gradwatch.control`` on its own thread; the training thread drains the commands."""

    def __init__(self, run_id: str, settings: Dict[str, str], started_ms: int, consumer_factory: Callable = None):
        self.run_id = run_id
        self.started_ms = started_ms
        self.group_id = f"gradwatch-python-{run_id}-{uuid.uuid4()}"
        properties = librdkafka_settings(settings)
        properties.update({
            "group.id": self.group_id,
            "auto.offset.reset": "latest",
            "enable.auto.commit": "false",
            "isolation.level": "read_committed",
            "client.id": "gradwatch-python-control",
            "error_cb": self._on_error,
        })
        if consumer_factory is None:
            from confluent_kafka import Consumer
            consumer_factory = Consumer
        self._consumer = consumer_factory(properties)
        self._pending: List[pb.ControlCommand] = []
        self._lock = threading.Lock()
        self._assigned = threading.Event()
        self._running = True
        self.error: Optional[str] = None
        self._thread = threading.Thread(target=self._run, name="gradwatch-control", daemon=True)

    def start(self, timeout: float = 30.0) -> bool:
        """Subscribes and waits until the partitions are assigned; False on timeout or a refused client."""
        self._consumer.subscribe([TOPIC_CONTROL], on_assign=self._on_assign)
        self._thread.start()
        return self._assigned.wait(timeout) and self.error is None

    def _on_error(self, error) -> None:
        """librdkafka's client-level errors: a refusal ends the wait in :meth:`start` with its reason."""
        if refused(error):
            self.error = str(error)
            self._assigned.set()
            LOG.error("gradwatch: Kafka refused the control listener: %s", error)
        else:
            LOG.debug("gradwatch: control listener: %s", error)

    def _on_assign(self, consumer, partitions) -> None:
        # Start every partition at its end *as of now*, resolved here: with auto.offset.reset alone the
        # end is looked up after the assignment, so a command sent in between would be skipped.
        try:
            for partition in partitions:
                _low, high = consumer.get_watermark_offsets(partition, timeout=10)
                partition.offset = high
            consumer.assign(partitions)
        except Exception as error:  # KafkaException: the broker did not answer; fall back to the reset policy
            LOG.warning("gradwatch: control listener could not resolve the end of %s: %s", TOPIC_CONTROL, error)
        self._assigned.set()

    def drain(self) -> List[pb.ControlCommand]:
        with self._lock:
            commands, self._pending = self._pending, []
        return commands

    def _run(self) -> None:
        try:
            while self._running:
                message = self._consumer.poll(0.2)
                if message is None:
                    continue
                if message.error():
                    self._on_error(message.error())
                    continue
                command = parse_command(message.key(), message.value(), self.run_id, self.started_ms)
                if command is not None:
                    with self._lock:
                        self._pending.append(command)
        finally:
            self._consumer.close()

    def close(self) -> None:
        self._running = False
        if self._thread.is_alive():
            self._thread.join(10)

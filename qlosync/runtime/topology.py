"""Declaring qlosync's queues on RabbitMQ, and upgrading queues that an older deployment declared differently.

RabbitMQ never lets a queue be redeclared with other arguments: it closes the channel with 406
PRECONDITION_FAILED, naming only the first argument that differs. Two cases end there:

* a deployment that used dramatiq's stock ``Q.XQ`` dead-lettering (or another DLQ name) is switched to the
  shared ``qloapps.dlq``: only ``x-dead-letter-routing-key`` differs, and
  ``qlosync broker setup --recreate-empty`` deletes and re-declares such a queue when it is empty and unused;
* another application on the same vhost owns a queue of the same name (the Hotel Management System's
  publisher declares ``qloapps.inbound`` and ``qloapps.outbound`` with a priority, a TTL and dead-lettering
  of its own): qlosync never deletes that one; the fix is a vhost of qlosync's own.

qlosync turns the refusal into :class:`QueueConflictError`, whose message is one paragraph: every argument
that differs and the fix. qlosync does not use RabbitMQ's management API, and a passive declare does not
tell a queue's arguments, so they are found by redeclaring on throwaway channels (:func:`differing_arguments`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import pika
import pika.exceptions
from dramatiq.middleware import MiddlewareError
from pika.adapters.blocking_connection import BlockingChannel

from qlosync.errors import ConfigurationError, TransientError
from qlosync.runtime.queues import DLQ, WORK_QUEUES, is_delay_queue, legacy_dead_letter_queue, topology

logger = logging.getLogger(__name__)

DOCS_HINT = "see docs/runtime.md, 'Upgrading existing queues'"
SHARING_DOCS_HINT = "see docs/pms.md, 'Sharing RabbitMQ with the Hotel Management System'"
#: The only argument in which a queue of an older qlosync (or of a stock dramatiq broker) differs.
_LEGACY_ARGUMENT = "x-dead-letter-routing-key"


class BrokerUnavailableError(TransientError):
    """RabbitMQ cannot be reached (or dropped the connection)."""


@dataclass(frozen=True)
class ArgumentDifference:
    """One argument of an existing queue that is not what qlosync declares (values as RabbitMQ shows them)."""

    name: str  # "x-max-priority", ..., or "durable"
    current: str  # what the queue has: "10", "'qloapps.events.dlx'", or "not set"
    qlosync: str  # what qlosync declares, the same way

    def __str__(self) -> str:
        return f"{self.name} = {self.current} (qlosync: {self.qlosync})"


class QueueConflictError(ConfigurationError, MiddlewareError):
    """RabbitMQ already has a queue of this name with other arguments (PRECONDITION_FAILED).

    Its message is one paragraph: which arguments differ, whose queue it looks like, and the fix. Also a
    dramatiq ``MiddlewareError``, so that raised from a worker-boot hook it stops the worker.
    """

    def __init__(self, queue_name: str, detail: str, differences: tuple[ArgumentDifference, ...] = (),
                 complete: bool = False, vhost: str | None = None) -> None:
        self.queue_name = queue_name
        self.detail = detail  # RabbitMQ's reply text (it names the first difference only)
        self.differences = differences
        self.complete = complete  # every difference was found (False: the list may miss some)
        self.vhost = vhost
        super().__init__(self.paragraph())

    @property
    def foreign(self) -> bool:
        """The queue differs in more than an older qlosync's would: another application owns it."""
        return any(d.name != _LEGACY_ARGUMENT for d in self.differences)

    def paragraph(self) -> str:
        where = f" in vhost {self.vhost!r}" if self.vhost is not None else ""
        if self.differences:
            found = "; ".join(str(d) for d in self.differences) + ("" if self.complete else "; perhaps more")
        else:
            found = self.detail
        head = (f"RabbitMQ queue {self.queue_name!r}{where} already exists with other arguments than qlosync "
                f"declares ({found})")
        if not self.foreign:
            return (f"{head}; stop the workers, then run `qlosync broker setup --recreate-empty` (it re-declares the "
                    f"queue if it is empty; drain it first otherwise): {DOCS_HINT}")
        vhost = self.vhost if self.vhost is not None else "VHOST"
        return (f"{head}. It is not a queue an older qlosync declared: another application on this vhost owns a "
                f"queue of that name (the Hotel Management System's publisher declares qloapps.inbound and "
                f"qloapps.outbound with a priority, a TTL and dead-lettering of its own), RabbitMQ refuses to "
                f"redeclare it (406 PRECONDITION_FAILED), and qlosync never deletes it. Fix: give qlosync a vhost "
                f"of its own (`rabbitmqctl add_vhost qlosync`, `rabbitmqctl set_permissions -p qlosync USER '.*' "
                f"'.*' '.*'`, then RABBITMQ_URL=amqp://USER:PASSWORD@HOST:5672/qlosync for every qlosync process), "
                f"or stop that application's publisher and workers, delete the queue (`rabbitmqctl delete_queue "
                f"-p {vhost} {self.queue_name}`) and run `qlosync broker setup` again; {SHARING_DOCS_HINT}.")


def queue_arguments(queue_name: str, *, dead_letter_queue: str = DLQ, max_priority: int | None = None) -> dict[str, object]:
    """The ``x-`` arguments qlosync declares *queue_name* with: everything dead-letters into one queue."""
    if queue_name == dead_letter_queue:
        # No x-message-ttl (dramatiq's XQ drops dead letters after 7 days): an operator decides, not a timer.
        return {}
    arguments: dict[str, object] = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letter_queue}
    if max_priority:
        arguments["x-max-priority"] = max_priority
    return arguments


def declare(channel: BlockingChannel, queue_name: str, arguments: dict[str, object]) -> pika.frame.Method[pika.spec.Queue.DeclareOk]:
    """Declare a durable queue; a 406 becomes :class:`QueueConflictError` (the channel is then closed)."""
    try:
        return channel.queue_declare(queue=queue_name, durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 406:
            raise conflict_error(channel.connection, queue_name, arguments, exc.reply_text) from None
        raise


# RabbitMQ's words for a refused redeclare, e.g. "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for
# queue 'q' in vhost '/': received none but current is the value '10' of type 'signedint'".
_INEQUIVALENT = re.compile(
    r"inequivalent arg '(?P<name>[^']+)' for queue '.*' in vhost '(?P<vhost>.*)': "
    r"received (?P<received>.*) but current is (?P<current>.*)$", re.DOTALL)
_TYPED_VALUE = re.compile(r"the value '(?P<value>.*)' of type '(?P<type>\w+)'$", re.DOTALL)
_INTEGER_TYPES = frozenset({"byte", "short", "signedint", "long", "unsignedbyte", "unsignedshort", "unsignedint"})
_FLAGS = ("durable", "auto_delete")  # compared by RabbitMQ before the x- arguments
#: Redeclares tried at most per conflict (RabbitMQ compares about twenty arguments).
_MAX_PROBES = 24


class _Unset:
    """A queue argument that is not set (RabbitMQ says "none")."""


_UNSET = _Unset()


def conflict_error(connection: pika.BlockingConnection, queue_name: str, arguments: dict[str, object],
                   reply_text: str) -> QueueConflictError:
    """The error for a refused declare, with every argument that differs when they can be found."""
    match = _INEQUIVALENT.search(reply_text)
    vhost = match["vhost"] if match else None
    try:
        differences, complete = differing_arguments(connection, queue_name, arguments, reply_text)
    except pika.exceptions.AMQPError:
        # Never hide the conflict behind a failed probe: the first difference is in RabbitMQ's own words.
        differences, complete = (), False
    return QueueConflictError(queue_name, reply_text, differences, complete, vhost)


def differing_arguments(connection: pika.BlockingConnection, queue_name: str, arguments: dict[str, object],
                        reply_text: str) -> tuple[tuple[ArgumentDifference, ...], bool]:
    """Every argument in which the existing *queue_name* differs from *arguments*, and whether that is all.

    RabbitMQ names one difference per refusal: redeclare with that argument as the queue has it, on a
    throwaway channel, until RabbitMQ accepts (the queue then has exactly the probe's arguments, so the
    accepted redeclare changes nothing). Before each probe a passive declare checks that the queue still
    exists, so a probe does not create a queue with mixed arguments after someone deleted it.
    """
    probe: dict[str, object] = dict(arguments)
    flags: dict[str, bool] = {"durable": True, "auto_delete": False}
    differences: list[ArgumentDifference] = []
    seen: set[str] = set()
    for _ in range(_MAX_PROBES):
        match = _INEQUIVALENT.search(reply_text)
        if match is None or match["name"] in seen:
            return tuple(differences), False
        name = match["name"]
        seen.add(name)
        current = _value(match["current"], flag=name in _FLAGS)
        if name in _FLAGS:
            differences.append(ArgumentDifference(name, _display(current), _display(flags[name])))
            if not isinstance(current, bool):
                return tuple(differences), False
            flags[name] = current
        else:
            shown = _display(current) if current is not None else match["current"]
            differences.append(ArgumentDifference(name, shown, _display(probe.get(name, _UNSET))))
            if current is None:
                return tuple(differences), False  # a type qlosync cannot send back (a table, a timestamp...)
            if isinstance(current, _Unset):
                probe.pop(name, None)
            else:
                probe[name] = current
        channel = connection.channel()
        try:
            channel.queue_declare(queue=queue_name, passive=True)
            channel.queue_declare(queue=queue_name, durable=flags["durable"], auto_delete=flags["auto_delete"],
                                  arguments=probe)
        except pika.exceptions.ChannelClosedByBroker as refused:
            if refused.reply_code != 406:
                return tuple(differences), False  # 404: deleted meanwhile
            reply_text = refused.reply_text
            continue
        channel.close()
        return tuple(differences), True
    return tuple(differences), False


def _value(text: str, *, flag: bool) -> object:
    """A value as RabbitMQ's refusal writes it, as pika would send it; None if it cannot be sent back."""
    if text == "none":
        return _UNSET
    typed = _TYPED_VALUE.match(text)
    if typed is None:
        # Untyped: a flag ('true'), or a string RabbitMQ checks itself (x-dead-letter-exchange: 'name').
        plain = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else None
        if flag:
            return {"true": True, "false": False}.get(plain or "")
        return plain
    value, kind = typed["value"], typed["type"]
    if kind in ("longstr", "binary"):
        return value
    if kind in _INTEGER_TYPES:
        return int(value)
    if kind == "bool":
        return value == "true"
    if kind in ("float", "double"):
        return float(value)
    return None


def _display(value: object) -> str:
    if isinstance(value, _Unset):
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    return "?" if value is None else str(value)


def redact_url(amqp_url: str | pika.ConnectionParameters) -> str:
    """``host:port/vhost`` of an AMQP URL (or its parameters), without credentials (for error messages)."""
    params = pika.URLParameters(amqp_url) if isinstance(amqp_url, str) else amqp_url
    return f"{params.host}:{params.port}/{quote(params.virtual_host, safe='')}"


def unreachable_message(amqp_url: str | pika.ConnectionParameters, exc: BaseException) -> str:
    """The one line every process and command gives when RabbitMQ cannot be reached or refuses the login:
    host, port, vhost and RabbitMQ's reason (``ACCESS_REFUSED``, ``vhost ... not found``), never the password."""
    return f"cannot reach RabbitMQ at {redact_url(amqp_url)} ({_root_cause(exc)})"


def _root_cause(exc: BaseException) -> str:
    # pika nests the socket error a few levels deep in args, dramatiq wraps pika's error in ``message``; the
    # innermost one is what a person needs.
    while True:
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        for attribute in ("exception", "message"):
            if inner is None and isinstance(getattr(exc, attribute, None), BaseException):
                inner = getattr(exc, attribute)
        if inner is None:
            break
        exc = inner
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def connection(amqp_url: str) -> Iterator[pika.BlockingConnection]:
    """A short-lived blocking connection for operator commands; unreachable RabbitMQ is one clear error."""
    pika_logger = logging.getLogger("pika")
    level = pika_logger.level
    # pika logs every failed connect at ERROR with a traceback-like line; the error raised below says it
    # once. Operator commands only (workers use dramatiq's own connections), so the brief change is harmless.
    pika_logger.setLevel(logging.CRITICAL)
    try:
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except pika.exceptions.AMQPConnectionError as exc:
        raise BrokerUnavailableError(unreachable_message(amqp_url, exc)) from None
    finally:
        pika_logger.setLevel(level)
    try:
        yield conn
    finally:
        if conn.is_open:
            conn.close()


@dataclass(frozen=True)
class QueueState:
    """What ``setup_topology`` found or did for one queue."""

    name: str
    status: str  # "ok", "recreated", "conflict" or "legacy" (an old dramatiq XQ still holding messages)
    messages: int | None = None
    consumers: int | None = None
    detail: str = ""
    conflict: QueueConflictError | None = None  # for a "conflict": every difference and the fix, in a paragraph


def passive_counts(conn: pika.BlockingConnection, queue_name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of an existing queue, or None if it does not exist."""
    channel = conn.channel()
    try:
        frame = channel.queue_declare(queue=queue_name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    channel.close()
    return frame.method.message_count, frame.method.consumer_count


def setup_topology(
    amqp_url: str,
    *,
    work_queues: tuple[str, ...] = WORK_QUEUES,
    dead_letter_queue: str = DLQ,
    recreate_empty: bool = False,
) -> list[QueueState]:
    """Declare every qlosync queue; report (or, if asked, fix when empty) the ones that conflict."""
    states: list[QueueState] = []
    with connection(amqp_url) as conn:
        for name in topology(work_queues, dead_letter_queue):
            states.append(_setup_one(conn, name, queue_arguments(name, dead_letter_queue=dead_letter_queue), recreate_empty))
        for name in work_queues:
            legacy = legacy_dead_letter_queue(name)
            counts = passive_counts(conn, legacy)
            if counts is not None and counts[0] > 0:
                states.append(QueueState(legacy, "legacy", counts[0], counts[1],
                                         "old dramatiq dead letters; qlosync no longer uses this queue"))
    return states


def _setup_one(conn: pika.BlockingConnection, name: str, arguments: dict[str, object], recreate_empty: bool) -> QueueState:
    channel = conn.channel()
    try:
        frame = declare(channel, name, arguments)
    except QueueConflictError as exc:
        counts = passive_counts(conn, name)
        messages, consumers = counts if counts is not None else (None, None)
        if not recreate_empty:
            return QueueState(name, "conflict", messages, consumers, exc.detail, exc)
        if exc.foreign:
            # Another application's queue: deleting it would break that application (its publisher is no
            # consumer, so RabbitMQ's if-unused guard would not stop the delete).
            return QueueState(name, "conflict", messages, consumers, "not recreated: not a queue of an older qlosync", exc)
        if messages or consumers:
            return QueueState(name, "conflict", messages, consumers, _drain_hint(name, messages, consumers), exc)
        channel = conn.channel()
        try:
            # if_empty/if_unused make RabbitMQ itself refuse when a message or consumer arrived meanwhile.
            channel.queue_delete(queue=name, if_empty=True, if_unused=True)
        except pika.exceptions.ChannelClosedByBroker as race:
            return QueueState(name, "conflict", messages, consumers, f"not deleted: {race.reply_text}", exc)
        channel = conn.channel()
        frame = declare(channel, name, arguments)
        channel.close()
        logger.warning("Re-declared queue %s with qlosync's arguments.", name, extra={"action": "recreate_queue"})
        return QueueState(name, "recreated", frame.method.message_count, frame.method.consumer_count)
    channel.close()
    return QueueState(name, "ok", frame.method.message_count, frame.method.consumer_count)


def _drain_hint(name: str, messages: int | None, consumers: int | None) -> str:
    if consumers:
        return f"{consumers} consumer(s) attached: stop every worker first"
    what = "delayed retries" if is_delay_queue(name) else "messages"
    return (f"{messages} {what} waiting: let the previous workers drain it (start them with the old version "
            f"until it is empty), or move them aside with a shovel; {DOCS_HINT}")

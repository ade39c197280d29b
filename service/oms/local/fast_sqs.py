"""moto's SQS with a cost per message that does not grow with the backlog.

Measured with moto 5.2.5 in one process (`receive_message` of 10 + `delete_message_batch`):
67 ms with 200 messages queued, 1,131 ms with 2,000. A profile puts it all in three places:

- every received message checks its retention period through `get_queue_attributes`, which
  computes *every* attribute, including three approximate counts that each walk the whole
  queue: three full scans per message received;
- each of those scans asks every message `visible` and `delayed`, and each asks the clock
  through `datetime` arithmetic (about 6 µs a call);
- `delete_message` and `change_message_visibility` find a message by walking the queue and
  building a list of its receipt handles for every message they pass.

The patches below keep moto's data model and wire protocol (it still serves the same endpoint,
with the same redrive policy, attributes and MD5s) and change only how it finds things: the
retention check reads the one attribute it needs, the clock is read with `time.time()`, and
receipt handles are indexed. `tests/e2e/test_emulator_sqs.py` holds the behaviour and the cost.
Replacing moto's SQS with an own implementation would have meant re-doing its protocol, its
attributes and its redrive for no further gain. Applied once per process, idempotent.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

_MAX_VISIBILITY_MS = 43_200 * 1000
# Receipt handle -> message: every handle a message was ever given stays valid for deletion,
# as in moto (and SQS, which accepts a stale handle of a message that is still in flight).
_BY_HANDLE: weakref.WeakValueDictionary[str, Message] = weakref.WeakValueDictionary()


def _now_ms() -> float:
    return time.time() * 1000.0


def _visible(self: Message) -> bool:
    return _now_ms() > self.visible_at


def _delayed(self: Message) -> bool:
    return _now_ms() < self.delayed_until


def _messages(self: Queue) -> list[Message]:
    now = _now_ms()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


_original_mark_received = Message.mark_received


def _mark_received(self: Message, visibility_timeout: int | None = None) -> None:
    _original_mark_received(self, visibility_timeout)
    if self.receipt_handle is not None:
        _BY_HANDLE[self.receipt_handle] = self


def _find(queue: Queue, receipt_handle: str) -> Message | None:
    message = _BY_HANDLE.get(receipt_handle)
    owner = getattr(message, "_oms_queue", None)
    if message is None or owner is None or owner() is not queue:
        return None
    return message


_original_add_message = Queue.add_message


def _add_message(self: Queue, message: Message) -> None:
    # A weak reference: moto deep-copies every message it returns, and copies it atomically.
    message._oms_queue = weakref.ref(self)  # type: ignore[attr-defined]
    _original_add_message(self, message)


def _delete_message(self: Queue, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:
        return  # already deleted: SQS accepts that
    message = _find(self, receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid()
    self.pending_messages.discard(message)
    self.deleted_messages.update(h for h in message.all_receipt_handles if h is not None)
    message._oms_queue = None  # type: ignore[attr-defined]
    try:
        self._messages.remove(message)  # identity compare, in C: cheap even for 10,000
    except ValueError:  # purged meanwhile
        raise ReceiptHandleIsInvalid() from None


def _change_message_visibility(
    self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    queue = self.get_queue(queue_name)
    message = _find(queue, receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid
    given = _now_ms() + int(visibility_timeout) * 1000
    if given - message.sent_timestamp > _MAX_VISIBILITY_MS:  # type: ignore[operator]
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: "
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    message.change_visibility(visibility_timeout)
    if message.visible and message in queue.pending_messages:
        queue.pending_messages.remove(message)


def _retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention: Any = getattr(self.get_queue(queue_name), "message_retention_period")  # noqa: B009
    return int(retention) + message.sent_timestamp / 1000 > time.time()  # type: ignore[operator]


def make_sqs_flat() -> None:
    """Patch moto's SQS classes in this process (idempotent)."""
    if getattr(Queue, "_oms_flat", False):
        return
    Message.visible = property(_visible)  # type: ignore[method-assign,assignment]
    Message.delayed = property(_delayed)  # type: ignore[method-assign,assignment]
    Message.mark_received = _mark_received  # type: ignore[method-assign]
    Queue.messages = property(_messages)  # type: ignore[method-assign,assignment]
    Queue.add_message = _add_message  # type: ignore[method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = _change_message_visibility  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    Queue._oms_flat = True  # type: ignore[attr-defined]

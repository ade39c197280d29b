"""The runtime of the process core, used inside a workflow (deterministic, no I/O of its own).

`Process` runs a flow's steps and the steps that must finish, and keeps what every flow shows:
the steps taken, the step running, why a person is needed, the search attribute. Two rules make
a wedged workflow task impossible:
- an activity is never cancelled: when the flow stops waiting for it (a cancellation, an
  operator's resolve) it is left to finish, and its late answer, success or failure, resolves a
  handle nobody reads (a cancelled activity's late answer is what the SDK rejected: the wedge);
- every exception ends somewhere: a step's errors map to a failure (`steps.failure_of`), a step
  that must finish and fails for good waits NEEDS_ATTENTION for an operator, a bug anywhere in
  the flow is recovered by the flow's own `recover` with attention set, and a bug in that too
  (or in a handler) fails the workflow visibly (`BUGS`, alarmed) instead of retrying its task.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Collection
from datetime import timedelta
from typing import Any, Concatenate, Final, Generic, ParamSpec, Protocol, TypeVar, cast

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from oms.process.policies import Options
from oms.process.steps import C, Failure, StepSpec, cause_of, failure_of
from oms.process.wire import ResolveRequest, StepRecord

R = TypeVar("R")
P = ParamSpec("P")

NEEDS_ATTENTION: Final = "NEEDS_ATTENTION"
PROCESS_BUG: Final = "ProcessBug"  # the ApplicationError type a flow fails with on a core bug
RESOLVE_REFUSED: Final = "ResolveRefused"
TEMPORAL_CANCEL: Final = "cancellation requested in Temporal"

# Last guard (`@workflow.defn(failure_exception_types=BUGS)`): these fail the workflow instead of
# its task. Python's bug classes; not the SDK's NondeterminismError, which must stay a task
# failure so a bad deploy can be rolled back without losing the workflows.
BUGS: Final = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    NameError,
    RuntimeError,
    TypeError,
    ValueError,
)


class CancelledError(Exception):
    """An accepted cancellation interrupts the forward steps."""


class StepFailedError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Read the answer of an activity nobody waits for any more, so it is never reported."""
    if not task.cancelled():
        task.exception()


def timed_out(error: ActivityError) -> bool:
    """The attention window ran out: the server stops retrying when the next attempt would
    start after it (retry state TIMEOUT, the last failure as cause), or times the attempt out."""
    cause = error.cause
    return error.retry_state == RetryState.TIMEOUT or (
        isinstance(cause, TimeoutError) and cause.type == TimeoutType.SCHEDULE_TO_CLOSE
    )


class Process(Generic[C]):
    def __init__(
        self,
        *,
        subject: str,
        context: C,
        attention_after: timedelta,
        resolvable: Collection[str],
        search_key: SearchAttributeKey[str],
        search_value: str | None,
        describe: Callable[[], list[str]],
    ) -> None:
        self.subject = subject  # the flow's id in logs (never personal data)
        self.context = context
        self.attention_after = attention_after
        self.resolvable = frozenset(resolvable)
        self.search_key = search_key
        self.search_value = search_value  # what the search attribute holds now
        self._describe = describe
        self.steps: list[StepRecord] = []
        self.step: str | None = None  # the step running now
        self.attention: str | None = None  # why a person is needed, while one is
        self.resolved: dict[str, str] = {}
        self.cancel_reason: str | None = None
        self.no_return = False  # past the point of no return: cancellation is refused
        self.closing = False  # failing or cancelling: the outcome is decided

    # --- running ----------------------------------------------------------------------------

    async def execute(
        self, flow: Callable[[], Awaitable[R]], recover: Callable[[str], Awaitable[R]]
    ) -> R:
        """Run `flow` in a task Temporal's cancellation never interrupts (it becomes a cancel
        request); any exception in it is handed to `recover` with attention set."""

        async def guarded() -> R:
            try:
                return await flow()
            except Exception as bug:  # deterministic: a replay takes the same path
                why = f"unexpected error in the workflow: {type(bug).__name__}"
                workflow.logger.exception("%s: %s", self.subject, why)
                try:
                    self.need_attention(why)
                    return await recover(why)
                except Exception as worse:
                    raise ApplicationError(
                        f"{why}; recovering failed too: {type(worse).__name__}",
                        type=PROCESS_BUG,
                        non_retryable=True,
                    ) from worse

        task = asyncio.create_task(guarded())
        while True:
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.done():  # the worker evicted the workflow: every task was cancelled
                    raise
                if self.cancel_refusal() is None:
                    self.cancel_reason = self.cancel_reason or TEMPORAL_CANCEL

    def start(self, activity: Callable[[Any, Any], Any], argument: Any, options: Options) -> Any:
        handle = workflow.start_activity_method(activity, argument, **vars(options))
        handle.add_done_callback(_retrieve)
        return handle

    async def run(self, spec: StepSpec[C, Any, R], started: list[StepSpec[C, Any, Any]]) -> R:
        """A forward step. Raises `CancelledError` (the step is left running: whatever it answers
        late, the compensation of every started step makes it harmless) or `StepFailedError`."""
        self.raise_if_cancelled()
        if spec.must_finish:
            self.no_return = True
        self.step = spec.step
        started.append(spec)
        argument = spec.build(self.context)
        try:
            if spec.must_finish:
                result = await self._until_done(spec.step, spec.activity, argument, spec.options)
            else:
                handle = self.start(spec.activity, argument, spec.options)
                await workflow.wait_condition(lambda: handle.done() or self.cancelling())
                if not handle.done():
                    raise CancelledError
                result = await handle
        except ActivityError as error:
            failure = failure_of(spec, error)
            if not failure.took_effect:
                started.remove(spec)
            self.record(spec.step, f"failed: {failure.detail}")
            raise StepFailedError(failure) from None
        finally:
            self.step = None
        spec.keep(self.context, result)
        self.record(spec.step)
        return result  # type: ignore[no-any-return]

    async def must_finish(
        self,
        step: str,
        activity: Callable[[Any, Any], R],
        build: Callable[[], Any],
        options: Options,
    ) -> R | None:
        """Retried until it succeeds. None when an operator settled it by hand: after it
        failed for good or its input could not be built (a bug), it waits NEEDS_ATTENTION for
        `resolve`; or while it retried past the attention window."""
        self.step = step
        try:
            try:
                argument = build()
            except Exception as bug:
                await self._wait_for_person(step, f"{step} could not start: {type(bug).__name__}")
                return None
            try:
                result: R | None = await self._until_done(step, activity, argument, options)
            except ActivityError as error:
                await self._wait_for_person(step, f"{step} failed: {cause_of(error)}")
                return None
            if result is None:
                self.record(step, f"settled by hand: {self.resolved[step]}")
            return result
        finally:
            self.step = None

    async def _wait_for_person(self, step: str, why: str) -> None:
        """The step cannot finish by itself: NEEDS_ATTENTION until `resolve` settles it."""
        self.record(step, why)
        self.need_attention(f"{why}; settle it by hand, then `oms resolve --step {step}`")
        await workflow.wait_condition(lambda: step in self.resolved)
        self.clear_attention()
        self.record(step, f"settled by hand: {self.resolved[step]}")

    async def _until_done(
        self, step: str, activity: Callable[[Any, Any], Any], argument: Any, options: Options
    ) -> Any:
        """Past the attention window the flow is marked NEEDS_ATTENTION while retries go on;
        an operator may settle a resolvable step (None)."""
        try:
            return await self.start(activity, argument, options.within(self.attention_after))
        except ActivityError as error:
            if not timed_out(error):
                raise
        self.need_attention(f"{step} has been failing for {self.attention_after}")
        handle = self.start(activity, argument, options)
        await workflow.wait_condition(lambda: handle.done() or step in self.resolved)
        self.clear_attention()
        if not handle.done():
            return None  # settled by an operator; the attempt is left to finish unheard
        return await handle

    async def compensate(self, started: list[StepSpec[C, Any, Any]]) -> None:
        """Undo, in reverse, every step that may have taken effect."""
        self.closing = True
        for spec in reversed(started):
            undo = spec.compensation
            if undo is None:
                continue
            result = await self.must_finish(
                undo.step,
                undo.activity,
                functools.partial(undo.build, self.context),
                undo.options,
            )
            if result is not None and result.undone:
                self.record(undo.step, result.detail)

    # --- cancellation -----------------------------------------------------------------------

    def cancel_refusal(self, terminal: bool = False) -> str | None:
        """Why a cancel request is refused now (None: accepted). `terminal`: the flow ended."""
        if self.cancel_reason is not None and not self.no_return:
            return None  # already cancelling: accepting again is harmless and idempotent
        if terminal or self.closing:
            return "already finished" if terminal else "already closing"
        if self.no_return:
            return "past the point of no return"
        return None

    def request_cancel(self, reason: str) -> None:
        self.cancel_reason = self.cancel_reason or reason

    def cancelling(self) -> bool:
        return self.cancel_reason is not None and not self.no_return

    def raise_if_cancelled(self) -> None:
        if self.cancelling():
            raise CancelledError

    # --- resolve ----------------------------------------------------------------------------

    def resolve_refusal(self, request: ResolveRequest) -> str | None:
        if request.step not in self.resolvable:
            return (
                f"{request.step} cannot be settled by hand (only "
                f"{', '.join(sorted(self.resolvable))})"
            )
        if self.attention is None or self.step != request.step:
            return (
                f"nothing to resolve for {request.step}: only a step that needs attention can be "
                f"settled by hand (running: {self.step or 'none'}, "
                f"attention: {self.attention or 'none'})"
            )
        return None

    def resolve(self, request: ResolveRequest) -> None:
        self.resolved[request.step] = request.note

    # --- what the flow shows ----------------------------------------------------------------

    def record(self, step: str, detail: str | None = None) -> None:
        self.steps.append(StepRecord(step=step, at=workflow.now(), detail=detail))

    def need_attention(self, why: str) -> None:
        workflow.logger.warning("%s needs attention: %s", self.subject, why)
        self.attention = why
        self.show()
        self.publish(NEEDS_ATTENTION)

    def clear_attention(self) -> None:
        self.attention = None
        self.show()

    def publish(self, value: str) -> None:
        """Upsert the search attribute when it changes (each upsert is a billable action)."""
        if value != self.search_value:
            self.search_value = value
            workflow.upsert_search_attributes([self.search_key.value_set(value)])

    def publish_outcome(self, outcome: str) -> None:
        """The one upsert of a healthy flow: its outcome, or that it still needs a person."""
        self.publish(NEEDS_ATTENTION if self.attention else outcome)

    def show(self) -> None:
        """What the Temporal UI shows for the flow (no personal data, no billable action)."""
        parts = [*self._describe(), self.attention or ""]
        workflow.set_current_details(" · ".join(p for p in parts if p))


class HasProcess(Protocol):
    process: Process[Any]


S = TypeVar("S", bound=HasProcess)


def signal_guard(handler: Callable[Concatenate[S, P], None]) -> Callable[Concatenate[S, P], None]:
    """A bug in a signal handler marks the flow NEEDS_ATTENTION (the signal is dropped and
    logged) instead of failing the workflow task on every attempt."""

    @functools.wraps(handler)
    def guarded(self: S, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            handler(self, *args, **kwargs)
        except Exception as bug:
            self.process.need_attention(
                f"unexpected error in the {handler.__name__} signal: {type(bug).__name__}"
            )

    return cast("Callable[Concatenate[S, P], None]", guarded)


def update_guard(
    handler: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], R]:
    """A bug in an update handler marks the flow NEEDS_ATTENTION and rejects the update."""

    @functools.wraps(handler)
    def guarded(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(self, *args, **kwargs)
        except ApplicationError:
            raise
        except Exception as bug:
            why = f"unexpected error in the {handler.__name__} update: {type(bug).__name__}"
            self.process.need_attention(why)
            raise ApplicationError(why, type=PROCESS_BUG, non_retryable=True) from None

    return cast("Callable[Concatenate[S, P], R]", guarded)

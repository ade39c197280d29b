"""A flow as data: one typed row per step.

A row names the activity, how its input is built from the flow's context, its options, its
compensation, the reason the flow fails with when the step gives up, the business errors that
fail it without effect, and whether it is past the point of no return (cancellation refused, must
finish). `failure_of` maps every error of every step to a failure, so an unknown error type can
never escape as an exception in workflow code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from temporalio.exceptions import ActivityError, ApplicationError

from oms.process.policies import Options

C = TypeVar("C")  # the flow's context: what the builders read and `keep` writes
I = TypeVar("I")  # noqa: E741 - the conventional name of an input type variable
O = TypeVar("O")  # noqa: E741


class Undone(Protocol):
    """What a compensation answers: whether it undid anything, and what."""

    @property
    def undone(self) -> bool: ...

    @property
    def detail(self) -> str | None: ...


@dataclass(frozen=True)
class Compensation(Generic[C]):
    step: str
    activity: Callable[[Any, Any], Undone]
    build: Callable[[C], Any]
    options: Options


def _nothing(_context: Any, _result: Any) -> None:
    return None


@dataclass(frozen=True)
class StepSpec(Generic[C, I, O]):
    step: str
    activity: Callable[[Any, I], O]
    build: Callable[[C], I]
    gives_up: str  # the failure reason when the step gives up or answers what nobody knows
    options: Options
    reaches: str | None = None  # the state the flow is in once the step succeeded
    compensation: Compensation[C] | None = None
    business: Mapping[str, str] = field(default_factory=dict)  # error type -> failure reason
    # From this step on a cancellation is refused and the step retries until it succeeds.
    must_finish: bool = False
    keep: Callable[[C, O], None] = _nothing  # what later steps need from the result


@dataclass(frozen=True)
class Failure:
    reason: str
    took_effect: bool  # False when the step answered with a business "no": it did nothing
    detail: str


def failure_of(spec: StepSpec[Any, Any, Any], error: ActivityError) -> Failure:
    """The one mapping from a failed step to the flow's outcome."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable and cause.type:
        reason = spec.business.get(cause.type)
        if reason is not None:
            return Failure(reason, took_effect=False, detail=cause.message)
    return Failure(spec.gives_up, took_effect=True, detail=f"{spec.step} failed: {cause_of(error)}")


def cause_of(error: ActivityError) -> str:
    """The error type an activity failed with (never its message: it may hold personal data)."""
    cause = error.cause
    return str(getattr(cause, "type", None) or type(cause).__name__)

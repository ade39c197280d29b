"""The base of every model that travels through Temporal (workflow and activity inputs and
results): camelCase aliases, so `--json` output is the wire format too; frozen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

# A person's words (a reason, a note): printable, bounded, never empty.
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class StepRecord(WireModel):
    """One step a flow took (or a compensation, a settlement by hand), with when and why."""

    step: str
    at: datetime
    detail: str | None = None


class ResolveRequest(WireModel):
    """An operator settles a stuck step by hand (it was done, or need not be, outside)."""

    step: str
    note: Note


class ResolveResponse(WireModel):
    accepted: bool
    message: str


class CompensationResult(WireModel):
    # False when there was nothing to undo (the step never took effect).
    undone: bool
    detail: str | None = None

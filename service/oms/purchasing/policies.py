"""A purchase order's activity options (the core's). Part of the workflow's contract: a change
is a workflow change, guarded by `workflow.patched` (purchase orders auto-upgrade while they
wait)."""

from __future__ import annotations

from typing import Final

from oms.orders.policies import NON_RETRYABLE
from oms.process import policies

MUST_FINISH: Final = policies.must_finish(NON_RETRYABLE)

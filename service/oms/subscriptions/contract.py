"""The public contract of subscriptions: workflow ids, handler names, states, steps, errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from temporalio.common import SearchAttributeKey

SUBSCRIPTION_WORKFLOW_TYPE: Final = "SubscriptionWorkflow"
SUBSCRIPTION_ID_PREFIX: Final = "subscription-"
# Leaves room in an order id (64 characters) for `-<cycle>-retry<n>`.
SUBSCRIPTION_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$"

PAUSE_UPDATE: Final = "pause"
RESUME_UPDATE: Final = "resume"
SKIP_UPDATE: Final = "skip"
CHANGE_UPDATE: Final = "change"
CANCEL_UPDATE: Final = "cancel"
RESOLVE_UPDATE: Final = "resolve"
STATUS_QUERY: Final = "status"

# Keyword search attribute: set at start (free), carried by each continue-as-new (free), upserted
# only when the state changes by request (pause, resume, suspend, the end). Register it.
SUBSCRIPTION_STATUS_ATTRIBUTE: Final = "SubscriptionStatus"
SUBSCRIPTION_STATUS_KEY: Final = SearchAttributeKey.for_keyword(SUBSCRIPTION_STATUS_ATTRIBUTE)

DUNNING_DAYS: Final = (1, 3, 7)  # retries of a declined renewal, days after each decline


def subscription_workflow_id(subscription_id: str) -> str:
    return f"{SUBSCRIPTION_ID_PREFIX}{subscription_id}"


def subscription_id_from_workflow_id(workflow_id: str) -> str:
    return workflow_id.removeprefix(SUBSCRIPTION_ID_PREFIX)


def cycle_order_id(subscription_id: str, cycle: int, retry: int = 0) -> str:
    """The order of a cycle (`<subscriptionId>-<cycle>`); a dunning retry gets its own id,
    `-retry<n>`, since an order id is never reused."""
    base = f"{subscription_id}-{cycle}"
    return base if retry == 0 else f"{base}-retry{retry}"


class SubscriptionState(StrEnum):
    """The `status` query's state and the `SubscriptionStatus` values; the last two are final."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    SUSPENDED = "SUSPENDED"  # dunning ran out: waits for `resume --token`
    CANCELLED = "CANCELLED"
    FINISHED = "FINISHED"  # the `cycles` count is reached

    @property
    def terminal(self) -> bool:
        return self in (SubscriptionState.CANCELLED, SubscriptionState.FINISHED)


class SubscriptionStep(StrEnum):
    """What a subscription records in its steps (`status --json`)."""

    REMIND = "remind"
    PLACE_ORDER = "place_order"
    SKIP = "skip"
    DUNNING = "dunning"
    SUSPEND = "suspend"
    PAUSE = "pause"
    RESUME = "resume"
    CHANGE = "change"
    CANCEL = "cancel"
    NOTIFY_SUBSCRIPTION = "notify_subscription"


class SubscriptionEvent(StrEnum):
    """The subscription's own emails (the orders send theirs): one each per cycle."""

    REMINDER = "REMINDER"
    DUNNING = "DUNNING"
    SUSPENDED = "SUSPENDED"


class SubscriptionErrorType(StrEnum):
    REQUEST_REJECTED = "SubscriptionRequestRejected"  # an update's validator said no

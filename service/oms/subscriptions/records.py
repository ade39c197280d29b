"""What the ledger keeps of a subscription: its id, claimed with the fingerprint of the first
body received, so the same id with another body is a conflict (as an order's `OrderEntry`)."""

from __future__ import annotations

from oms.records import Record


class SubscriptionEntry(Record):
    """Keyed (`subscriptionId`, `SUBSCRIPTION`): a kind of its own, so it never meets an order's
    `ORDER` entry even when an order id equals a subscription id."""

    KIND = "SUBSCRIPTION"
    fingerprint: str | None = None

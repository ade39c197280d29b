"""Subscriptions (CONTRACT.md §6e): one SubscriptionWorkflow per subscription, an ordinary
order per cycle."""

"""Events from partners (carriers; suppliers later) on the `oms-events` queue: each is routed to
its workflow by a signal, exactly once in effect (CONTRACT.md §4)."""

"""`make bench` / `python -m bench`: the cost of orchestration on this machine.

For each size it starts a fresh local stack (Temporal dev server, moto server, `oms worker`
processes, `oms intake`), measures the ceiling (a bare workflow with the same activities and
search-attribute upserts, no-op bodies, the same worker settings) and then the product end to
end (SQS → intake → workflow → DynamoDB/SES → completed), and reports throughput, latency,
memory, history events and billable Temporal actions per order. See BENCHMARKS.md.
"""

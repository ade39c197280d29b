"""The process core every durable flow shares (orders, returns, and the flows after them).

A flow is a table of steps (`steps.StepSpec`) and what is truly its own; the core
(`runtime.Process`) runs the steps, waits out outages under an attention window, lets an operator
settle a stuck step (`resolve`), compensates in reverse, and publishes the outcome. Every error
ends in a retry, an outcome or NEEDS_ATTENTION; a bug in the core itself fails the workflow
visibly (`BUGS`), never a workflow task that retries forever.
"""

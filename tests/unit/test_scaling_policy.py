"""The worker scaling decision, replayed against a recorded backlog curve (infra/scaling_policy.py
is what the stack's step policies are built from)."""

from __future__ import annotations

import itertools

from infra.scaling_policy import OUT_EXPRESSION, POLICY, Minute, decide, in_expression, simulate

MIN, MAX = 2, 10

# A recorded day's worst hour, per minute: quiet, a flash sale, Temporal rate-limiting the
# namespace in the middle of it (the backlog stays high), then the queue drains.
QUIET = [Minute(backlog=6)] * 5
SURGE = [Minute(backlog=b) for b in (300, 900, 1500)]
RATE_LIMITED = [Minute(backlog=2500, rate_limited=True)] * 8
RECOVERED = [Minute(backlog=b) for b in (2400, 2000, 1600, 1400, 900)]
DRAINING = [Minute(backlog=b) for b in (400, 120, 40)]
IDLE = [Minute(backlog=0)] * 60
CURVE = QUIET + SURGE + RATE_LIMITED + RECOVERED + DRAINING + IDLE


def test_a_backlog_per_worker_above_the_first_step_adds_workers() -> None:
    assert (
        decide(
            running=2, backlog=50, rate_limited=False, cpu_percent=20, min_count=MIN, max_count=MAX
        )
        == 3
    )
    assert (
        decide(
            running=2, backlog=400, rate_limited=False, cpu_percent=20, min_count=MIN, max_count=MAX
        )
        == 5
    )
    assert (
        decide(
            running=9,
            backlog=5000,
            rate_limited=False,
            cpu_percent=20,
            min_count=MIN,
            max_count=MAX,
        )
        == MAX
    )


def test_no_scale_up_while_the_namespace_is_rate_limited() -> None:
    assert (
        decide(
            running=4, backlog=5000, rate_limited=True, cpu_percent=20, min_count=MIN, max_count=MAX
        )
        == 4
    )


def test_scale_in_is_one_task_and_waits_for_cpu() -> None:
    assert (
        decide(
            running=6, backlog=0, rate_limited=False, cpu_percent=20, min_count=MIN, max_count=MAX
        )
        == 5
    )
    assert (
        decide(
            running=6, backlog=0, rate_limited=False, cpu_percent=90, min_count=MIN, max_count=MAX
        )
        == 6
    )
    assert (
        decide(
            running=MIN, backlog=0, rate_limited=False, cpu_percent=0, min_count=MIN, max_count=MAX
        )
        == MIN
    )


def test_the_recorded_curve_scales_up_holds_when_rate_limited_and_drains_slowly() -> None:
    counts = simulate(CURVE, start=MIN, min_count=MIN, max_count=MAX)

    quiet, surge = len(QUIET), len(QUIET) + len(SURGE)
    limited_end = surge + len(RATE_LIMITED)
    idle_start = len(CURVE) - len(IDLE)
    # Quiet: nothing moves.
    assert counts[:quiet] == [MIN] * quiet
    # The surge adds workers within its first minutes, but not all at once.
    assert MIN < counts[surge - 1] < MAX
    # Rate-limited: not one more worker, however large the backlog.
    assert counts[surge - 1 : limited_end] == [counts[surge - 1]] * (len(RATE_LIMITED) + 1)
    # Once Temporal accepts requests again, scaling resumes up to the cap.
    assert max(counts[limited_end:idle_start]) == MAX
    # Idle: one task at a time, each after the scale-in evaluation window, down to the minimum.
    tail = counts[idle_start:]
    steps = [(i, a - b) for i, (a, b) in enumerate(itertools.pairwise(tail)) if a != b]
    assert steps
    assert all(change == 1 for _, change in steps)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(steps)]
    assert all(gap >= POLICY.in_evaluation_minutes for gap in gaps)
    assert counts[-1] == MIN


def changes(counts: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(counts) if a != b)


def test_cpu_scale_out_and_backlog_scale_in_do_not_flap() -> None:
    # Given an hour of steady load worth 1.3 tasks of CPU and a small backlog, from 3 tasks
    hour = [Minute(backlog=2, cpu_load=1.3)] * 60
    counts = simulate(hour, start=3, min_count=2, max_count=MAX)
    # Then the backlog policy does not remove the task whose absence would push CPU over the
    # target (1.3 / 2 = 65 % > 60 %): nothing moves at all.
    assert changes(counts) == 0
    # A lighter load (1.0: 50 % on two tasks) still scales in, once, and stays.
    light = simulate([Minute(backlog=0, cpu_load=1.0)] * 60, start=3, min_count=2, max_count=MAX)
    assert light[-1] == 2
    assert changes(light) == 1


def test_a_dispatch_rate_limited_queue_blocks_scale_out_in_the_alarm_expression() -> None:
    assert "FILL(dispatch, 0)" in OUT_EXPRESSION
    assert "> 45," in in_expression(45)  # the stack's CPU target, not a constant

"""The worker scaling policy as data, and the decision it makes (pure Python, no CDK import).

`infra/components/scaling.py` turns `POLICY` into Application Auto Scaling step policies;
`decide` is the same rule one evaluation at a time, so a test can replay a recorded backlog
curve through it. The signal is the task queue's backlog per running worker (published each
minute by the backlog Lambda), with the two guards Temporal's own worker autoscaler learned:

- **no scale-up while the namespace is rate-limited** (`RESOURCE_EXHAUSTED`): more pollers only
  add requests that Temporal refuses, and the backlog they would drain is not growing for lack
  of workers;
- **scale-in is slow and one task at a time**: ECS stops a task with SIGTERM and the worker
  drains (no new tasks, running activities finish within the stop timeout).

CPU is secondary: a separate target-tracking policy may add workers (never remove them), and no
scale-in happens when the CPU the remaining tasks would carry (`cpu * n / (n - 1)`) is above the
CPU target. Without that projection the two policies flap: CPU at the target adds a task, the
CPU per task falls, the backlog policy removes one, CPU is back above the target (about 14
events an hour at ~7 orders/s in issue 20's simulation; `simulate` models both policies).

The publisher's `DispatchRateLimited` (Temporal's `TaskQueueStats.rate_limiting_active`: a
task-queue rate limit held dispatches back) blocks scale-out like a rate-limited namespace:
more workers would not drain the queue any faster.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingPolicy:
    # (lower bound of backlog per worker, tasks to add), ascending.
    out_steps: tuple[tuple[float, int], ...] = ((20.0, 1), (100.0, 3))
    in_below: float = 2.0  # backlog per worker under this: remove one task
    cpu_busy_percent: float = 60.0  # the CPU target: no scale-in that would exceed it
    out_cooldown_seconds: int = 60
    in_cooldown_seconds: int = 300
    out_evaluation_minutes: int = 2  # consecutive minutes above before adding
    in_evaluation_minutes: int = 5  # consecutive minutes below before removing


POLICY = ScalingPolicy()

# CloudWatch metric math, shared by the scale-out alarm and `decide`'s reading of the metrics:
# `backlog`, `running`, `limited` (rate-limited flag), `dispatch` (the queue's dispatch rate
# limit was active), `throttled` (starts refused), `cpu`.
RUNNING = "IF(FILL(running, 1) < 1, 1, FILL(running, 1))"
PER_WORKER = f"FILL(backlog, 0) / {RUNNING}"
OUT_EXPRESSION = (
    f"IF(FILL(limited, 0) + FILL(dispatch, 0) + FILL(throttled, 0) > 0, 0, {PER_WORKER})"
)
# While one task fewer would push CPU over the target, the scale-in signal reads as "a lot of
# backlog": no scale-in.
BUSY = 1_000_000


def in_expression(cpu_target_percent: float = POLICY.cpu_busy_percent) -> str:
    after_one_less = f"FILL(cpu, 0) * {RUNNING} / IF({RUNNING} - 1 < 1, 1, {RUNNING} - 1)"
    return f"IF({after_one_less} > {cpu_target_percent:g}, {BUSY}, {PER_WORKER})"


IN_EXPRESSION = in_expression()


def backlog_per_worker(backlog: float, running: int) -> float:
    return backlog / max(running, 1)


def decide(
    *,
    running: int,
    backlog: float,
    rate_limited: bool,
    cpu_percent: float,
    min_count: int,
    max_count: int,
    policy: ScalingPolicy = POLICY,
) -> int:
    """The desired task count after one evaluation (cooldowns and evaluation periods are
    applied by `simulate`)."""
    per_worker = backlog_per_worker(backlog, running)
    change = 0
    if not rate_limited:
        for lower, add in policy.out_steps:
            if per_worker >= lower:
                change = add
    after_one_less = cpu_percent * running / max(running - 1, 1)
    if change == 0 and per_worker < policy.in_below and after_one_less <= policy.cpu_busy_percent:
        change = -1
    return min(max(running + change, min_count), max_count)


@dataclass(frozen=True)
class Minute:
    backlog: float
    rate_limited: bool = False
    cpu_percent: float = 30.0
    # The load in tasks' worth of CPU (1.3: one task and a third at 100 %); when set, the CPU
    # per task is this over the running tasks, and the CPU target-tracking policy is modelled.
    cpu_load: float | None = None

    def cpu_at(self, running: int) -> float:
        if self.cpu_load is None:
            return self.cpu_percent
        return 100 * self.cpu_load / max(running, 1)


def simulate(
    curve: list[Minute],
    *,
    start: int,
    min_count: int,
    max_count: int,
    policy: ScalingPolicy = POLICY,
) -> list[int]:
    """Replay a per-minute curve: the running count after each minute, with the alarms'
    evaluation periods and the policies' cooldowns as Application Auto Scaling applies them."""
    running, counts = start, []
    above = below = 0
    last_out = last_in = -(10**9)
    for minute, sample in enumerate(curve):
        cpu = sample.cpu_at(running)
        # CPU target tracking (scale-out only, 60 s cooldown): one more task.
        cpu_out = sample.cpu_load is not None and cpu > policy.cpu_busy_percent
        if (
            cpu_out
            and minute * 60 - last_out >= policy.out_cooldown_seconds
            and running < max_count
        ):
            running, last_out = running + 1, minute * 60
            counts.append(running)
            continue
        wanted = decide(
            running=running,
            backlog=sample.backlog,
            rate_limited=sample.rate_limited,
            cpu_percent=cpu,
            min_count=min_count,
            max_count=max_count,
            policy=policy,
        )
        above = above + 1 if wanted > running else 0
        below = below + 1 if wanted < running else 0
        now = minute * 60
        if above >= policy.out_evaluation_minutes and now - last_out >= policy.out_cooldown_seconds:
            running, last_out, above = wanted, now, 0
        elif below >= policy.in_evaluation_minutes and now - last_in >= policy.in_cooldown_seconds:
            running, last_in, below = wanted, now, 0
        counts.append(running)
    return counts

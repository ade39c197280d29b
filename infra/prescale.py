"""Pre-scale the new worker build to the current build's size before it is promoted.

    python -m infra.prescale hold cdk-outputs.json NEW_BUILD --like CURRENT_BUILD [--within 600]
    python -m infra.prescale release cdk-outputs.json NEW_BUILD

A new build's service starts at the stack's minimum (2 tasks in production) while the current
build may run ten: promoted as it is, the new build would take all new orders with a fifth of
the capacity until backlog scaling caught up (minutes). `hold` (deploy.yml, before promote)
reads the current build's service (the larger of its desired and running counts), raises the
new build's scalable-target minimum to that (capped at its maximum; never lowered), which makes
Application Auto Scaling set the service's desired count at once, and waits until that many
tasks run. The raised minimum also keeps the backlog scale-in policy from shrinking the idle
new build again before promote. `release` (after promote, also when a step failed) puts the
minimum back to the stack's (`WorkerMinTasks` output), so autoscaling takes over: it scales
in one task at a time as the backlog allows. A release that never ran is undone by the next
deploy, whose template names the build's minimum again.

No current build (the first deploy), the same build, or a current build without a service of
this stack: nothing to match, `hold` says so and exits 0. No CDK import here: a pipeline step.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer

from infra.smoke import outputs_of
from oms.entrypoint import run_app

# The service name the stack gives each build's service (components/workers.py).
SERVICE_PREFIX = "oms-worker-"
DESIRED_COUNT = "ecs:service:DesiredCount"


def build_service_name(build: str) -> str:
    return f"{SERVICE_PREFIX}{build}"


def _scalable_resource(cluster: str, build: str) -> str:
    return f"service/{cluster}/{build_service_name(build)}"


def _service_size(ecs: Any, cluster: str, build: str) -> tuple[int, int] | None:
    """(desired, running) of a build's service, None when the stack has no such service."""
    found = ecs.describe_services(cluster=cluster, services=[build_service_name(build)])
    services = [s for s in found["services"] if s.get("status") == "ACTIVE"]
    if not services:
        return None
    return int(services[0]["desiredCount"]), int(services[0]["runningCount"])


def _scalable_target(autoscaling: Any, cluster: str, build: str) -> dict[str, Any]:
    found = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs",
        ResourceIds=[_scalable_resource(cluster, build)],
        ScalableDimension=DESIRED_COUNT,
    )["ScalableTargets"]
    if not found:
        raise PrescaleError(f"build {build}: no scalable target for its service in {cluster}")
    target: dict[str, Any] = found[0]
    return target


def _set_minimum(autoscaling: Any, cluster: str, build: str, minimum: int) -> None:
    # Only the minimum changes (an update leaves what it does not name); Application Auto
    # Scaling raises the service's desired count into the new range itself.
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=_scalable_resource(cluster, build),
        ScalableDimension=DESIRED_COUNT,
        MinCapacity=minimum,
    )


class PrescaleError(Exception):
    """The pre-scale could not be done (the message says why)."""


def prescale_to_current(
    ecs: Any,
    autoscaling: Any,
    outputs: dict[str, str],
    *,
    new_build: str,
    current_build: str,
    within_seconds: float,
    poll_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Raise the new build's minimum to the current build's size and wait until it runs that
    many tasks. One line for the pipeline log; PrescaleError when it does not get there."""
    cluster = outputs["WorkerClusterName"]
    if not current_build or current_build == new_build:
        return f"no current build other than {new_build}: nothing to pre-scale"
    current = _service_size(ecs, cluster, current_build)
    if current is None:
        return f"current build {current_build} has no service in {cluster}: nothing to match"
    target = _scalable_target(autoscaling, cluster, new_build)
    wanted = min(max(current), int(target["MaxCapacity"]))
    if wanted <= int(target["MinCapacity"]):
        return (
            f"build {new_build} already has at least {wanted} tasks as its minimum "
            f"(current build {current_build}: desired {current[0]}, running {current[1]})"
        )
    _set_minimum(autoscaling, cluster, new_build, wanted)
    deadline = clock() + within_seconds
    while True:
        size = _service_size(ecs, cluster, new_build)
        running = size[1] if size else 0
        if running >= wanted:
            return (
                f"build {new_build} runs {running} tasks, as current build {current_build} "
                f"(minimum held at {wanted} until `release`)"
            )
        if clock() >= deadline:
            raise PrescaleError(
                f"build {new_build} runs {running} of {wanted} tasks after {within_seconds:.0f} s"
                " (see the service's events); not promoting"
            )
        sleep(poll_seconds)


def release_prescale(autoscaling: Any, outputs: dict[str, str], *, new_build: str) -> str:
    """Put the new build's minimum back to the stack's: autoscaling takes over from here."""
    cluster, minimum = outputs["WorkerClusterName"], int(outputs["WorkerMinTasks"])
    target = _scalable_target(autoscaling, cluster, new_build)
    if int(target["MinCapacity"]) == minimum:
        return f"build {new_build}: minimum is the stack's ({minimum})"
    _set_minimum(autoscaling, cluster, new_build, minimum)
    return f"build {new_build}: minimum back to {minimum}, autoscaling from here"


app = typer.Typer(add_completion=False, help=__doc__)


@app.command("hold")
def prescale_hold_command(
    outputs_file: Annotated[Path, typer.Argument(help="cdk deploy --outputs-file")],
    build_id: Annotated[str, typer.Argument(help="the new build")],
    like: Annotated[str, typer.Option(help="the current build (empty: none)")] = "",
    within: Annotated[float, typer.Option(help="seconds to wait for the tasks")] = 600.0,
) -> int:
    """Raise the new build's minimum to the current build's size; wait until it runs."""
    try:
        line = prescale_to_current(
            boto3.client("ecs"),
            boto3.client("application-autoscaling"),
            outputs_of(outputs_file),
            new_build=build_id,
            current_build=like,
            within_seconds=within,
        )
    except PrescaleError as exc:
        sys.stderr.write(f"FAIL {exc}\n")
        return 1
    sys.stdout.write(line + "\n")
    return 0


@app.command("release")
def prescale_release_command(
    outputs_file: Annotated[Path, typer.Argument(help="cdk deploy --outputs-file")],
    build_id: Annotated[str, typer.Argument(help="the new build")],
) -> int:
    """Put the new build's minimum back to the stack's."""
    line = release_prescale(
        boto3.client("application-autoscaling"), outputs_of(outputs_file), new_build=build_id
    )
    sys.stdout.write(line + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m infra.prescale")


if __name__ == "__main__":
    sys.exit(main())

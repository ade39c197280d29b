"""Run the in-account replay gate and report only its verdict (deploy.yml, before promote).

`python -m infra.replay_task cdk-outputs.json [--within SECONDS]` starts one Fargate task of the
stack's replay gate task definition (`components/replay_gate.py`: the new build's image,
`oms.ops.replay_gate` over the namespace's recent histories, kms:Decrypt inside the account),
waits for it to stop and exits with the gate container's exit code. No history, payload or
log line reaches the pipeline: the task's output stays in its CloudWatch log group.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.exceptions import WaiterError

from infra.smoke import outputs_of
from oms.entrypoint import run_app

# No CDK import here (a pipeline step, not a synth): the construct takes these from this module.
CONTAINER_NAME = "replay"


def family_name(stack_name: str) -> str:
    """The task definition family: fixed, so the deploy role's RunTask grant can name it."""
    return f"{stack_name}-replay-gate"


# The exit code when the task could not run the gate at all (no image, no capacity, killed):
# distinct from the gate's own 1 (a replay failure).
TASK_FAILED = 2


def run_replay_task(ecs: Any, outputs: dict[str, str], *, within_seconds: int) -> tuple[int, str]:
    """(exit code, one line for the pipeline log) of one run of the gate."""
    started = ecs.run_task(
        cluster=outputs["WorkerClusterName"],
        taskDefinition=outputs["ReplayGateTaskDefinition"],
        launchType="FARGATE",
        count=1,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": outputs["ReplayGateSubnets"].split(","),
                "securityGroups": [outputs["ReplayGateSecurityGroup"]],
                "assignPublicIp": outputs["ReplayGateAssignPublicIp"],
            }
        },
    )
    if not started["tasks"]:
        reasons = "; ".join(f"{f.get('arn')}: {f.get('reason')}" for f in started["failures"])
        return TASK_FAILED, f"replay gate task not started: {reasons}"
    task_arn = started["tasks"][0]["taskArn"]
    # boto3's waiter polls DescribeTasks (every 6 s) until the task has stopped.
    delay = 6
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=outputs["WorkerClusterName"],
            tasks=[task_arn],
            WaiterConfig={"Delay": delay, "MaxAttempts": max(1, within_seconds // delay)},
        )
    except WaiterError as exc:
        return (
            TASK_FAILED,
            f"replay gate task {task_arn} did not stop within {within_seconds} s: {exc}",
        )
    (task,) = ecs.describe_tasks(cluster=outputs["WorkerClusterName"], tasks=[task_arn])["tasks"]
    container = next(c for c in task["containers"] if c["name"] == CONTAINER_NAME)
    code = container.get("exitCode")
    if code is None:
        why = container.get("reason") or task.get("stoppedReason", "unknown")
        return TASK_FAILED, f"replay gate task {task_arn} stopped without an exit code: {why}"
    verdict = "passed" if code == 0 else "FAILED (details: the task's log group, in the account)"
    return int(code), f"replay gate {verdict}: task {task_arn} exit code {code}"


app = typer.Typer(add_completion=False)


@app.command(help="Run the in-account replay gate; exit with its code.")
def replay(
    outputs_file: Annotated[Path, typer.Argument(help="cdk deploy --outputs-file")],
    within: Annotated[int, typer.Option(help="seconds to wait for the task")] = 1200,
) -> int:
    code, line = run_replay_task(
        boto3.client("ecs"), outputs_of(outputs_file), within_seconds=within
    )
    sys.stdout.write(line + "\n")
    return code


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m infra.replay_task")


if __name__ == "__main__":
    sys.exit(main())

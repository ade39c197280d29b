"""The post-deploy smoke check: do the deployed stack's parts answer and run?

`python -m infra.smoke cdk-outputs.json [--canary]` (deploy.yml runs it after `cdk deploy
--outputs-file`): the starter function is Active and its last update succeeded, the worker
service runs at least its minimum of tasks on the current deployment, the queues answer. Dead
letters are a warning, not a failure: they come from upstream data or an earlier outage, not
from this deploy, and failing on them would block every production deploy until someone
redrives (the DeadLetters alarm already pages). `--canary` (non-production stages only) also
sends one order to the intake queue and waits until the starter has taken it off the queue
without adding a dead letter.

Read-only except the canary's one message; the IAM it needs is in docs/DEPLOY.md.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer

from oms.entrypoint import run_app

CANARY_SKU = "SMOKE-CANARY"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # A finding to show without failing the deploy.
    warning: bool = False


def check_starter(lambda_client: Any, function_name: str) -> Check:
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    ok = config["State"] == "Active" and config.get("LastUpdateStatus") == "Successful"
    detail = f"{config['State']}/{config.get('LastUpdateStatus')} {config['Runtime']}"
    return Check("starter function", ok, f"{detail} {config['Architectures']}")


def check_workers(ecs: Any, cluster: str, service: str, minimum: int) -> Check:
    (found,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
    primary = next(d for d in found["deployments"] if d["status"] == "PRIMARY")
    ok = primary.get("rolloutState") == "COMPLETED" and primary["runningCount"] >= minimum
    detail = f"{primary['runningCount']} running (minimum {minimum}), {primary.get('rolloutState')}"
    return Check("worker service", ok, detail)


def _dead_letters(sqs: Any, dlq_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def check_queues(sqs: Any, intake_url: str, dlq_url: str) -> Check:
    """Both queues answer (a failure is a failed check); dead letters only warn."""
    sqs.get_queue_attributes(QueueUrl=intake_url, AttributeNames=["QueueArn"])
    dead = _dead_letters(sqs, dlq_url)
    detail = f"intake answers, {dead} dead letter(s)"
    if dead:
        detail += " (not from this deploy: `oms dlq list`, then fix and `oms dlq redrive`)"
    return Check("queues", True, detail, warning=dead > 0)


def canary_order(order_id: str, sender: str) -> dict[str, Any]:
    """A valid order (CONTRACT.md §4) for a SKU with no stock: it fails OUT_OF_STOCK, so the
    canary reserves, charges and ships nothing; the one email goes to the sender itself."""
    return {
        "orderId": order_id,
        "customer": {
            "id": "SMOKE",
            "name": "Smoke Test",
            "email": sender,
            "address": {
                "line1": "1 Canary Way",
                "city": "Dublin",
                "postalCode": "D01",
                "country": "IE",
            },
        },
        "items": [{"sku": CANARY_SKU, "quantity": 1, "unitPrice": "1.00"}],
        "payment": {"method": "card", "token": "tok_visa"},
        "currency": "EUR",
        "totalAmount": "1.00",
    }


def run_canary(
    sqs: Any,
    intake_url: str,
    dlq_url: str,
    sender: str,
    *,
    deadline_seconds: float = 120,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> Check:
    order_id = f"SMOKE-{uuid.uuid4().hex[:12]}"
    # Letters already dead are not the canary's: only a new one fails it.
    dead_before = _dead_letters(sqs, dlq_url)
    sqs.send_message(QueueUrl=intake_url, MessageBody=json.dumps(canary_order(order_id, sender)))
    deadline = clock() + deadline_seconds
    while clock() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=intake_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        dead = _dead_letters(sqs, dlq_url)
        if dead > dead_before:
            return Check("canary order", False, f"{order_id}: the DLQ grew to {dead} message(s)")
        if set(attributes.values()) == {"0"}:
            return Check("canary order", True, f"{order_id} started (workflow order-{order_id})")
        pause(2)
    return Check("canary order", False, f"{order_id} still on the intake queue")


def outputs_of(path: Path) -> dict[str, str]:
    """`cdk deploy --outputs-file` writes {stack name: {output: value}}; one stack here."""
    (outputs,) = json.loads(path.read_text()).values()
    return dict(outputs)


app = typer.Typer(add_completion=False)


@app.command(help="Smoke-check the deployed OMS stack.")
def smoke(
    outputs_file: Annotated[Path, typer.Argument(help="cdk deploy --outputs-file")],
    min_workers: Annotated[int, typer.Option(help="running worker tasks required")] = 1,
    canary: Annotated[bool, typer.Option(help="non-production stages only")] = False,
    sender: Annotated[str, typer.Option(help="the canary's recipient: the SES sender")] = "",
) -> int:
    outputs = outputs_of(outputs_file)
    sqs = boto3.client("sqs")
    checks = [
        check_starter(boto3.client("lambda"), outputs["StarterFunctionName"]),
        check_workers(
            boto3.client("ecs"),
            outputs["WorkerClusterName"],
            outputs["WorkerServiceName"],
            min_workers,
        ),
        check_queues(sqs, outputs["IntakeQueueUrl"], outputs["DeadLetterQueueUrl"]),
    ]
    if canary:
        checks.append(
            run_canary(sqs, outputs["IntakeQueueUrl"], outputs["DeadLetterQueueUrl"], sender)
        )
    for check in checks:
        mark = "FAIL" if not check.ok else "WARN" if check.warning else "ok  "
        sys.stdout.write(f"{mark} {check.name}: {check.detail}\n")
    return 0 if all(check.ok for check in checks) else 1


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m infra.smoke")


if __name__ == "__main__":
    sys.exit(main())

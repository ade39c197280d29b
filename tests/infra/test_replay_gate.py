"""The in-account replay gate (components/replay_gate.py, infra/replay_task.py): the new
image replays recent histories with kms:Decrypt in the account; the pipeline sees an exit code."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import WaiterError

from infra.components.replay_gate import CONTAINER_NAME, family_name
from infra.replay_task import TASK_FAILED, run_replay_task
from tests.infra.conftest import Synth


def replay_task_definition(synth: Synth) -> dict[str, Any]:
    (found,) = [
        r["Properties"]
        for r in synth.of_type("AWS::ECS::TaskDefinition").values()
        if r["Properties"].get("Family") == family_name("OmsOnTemporal")
    ]
    return found


def role_actions(synth: Synth, role_ref: dict[str, Any]) -> set[str]:
    """Every action any inline policy attached to the role grants."""
    actions: set[str] = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if role_ref not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions |= {action} if isinstance(action, str) else set(action)
    return actions


def test_the_gate_runs_the_new_builds_image_with_the_workers_connection(synth: Synth) -> None:
    definition = replay_task_definition(synth)
    (container,) = definition["ContainerDefinitions"]
    assert container["Name"] == CONTAINER_NAME
    assert container["EntryPoint"][1:4] == ["-m", "oms.ops.replay_gate", "--sample"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["TEMPORAL_NAMESPACE"] == "oms-prod.a1b2c"
    assert "OMS_PAYLOAD_KEY_ID" in env
    assert {s["Name"] for s in container["Secrets"]} == {"TEMPORAL_API_KEY"}
    # The same image as the newest worker service (the asset built from this commit).
    worker_images = [
        c["Image"]
        for r in synth.of_type("AWS::ECS::TaskDefinition").values()
        if r["Properties"].get("Family") != definition["Family"]
        for c in r["Properties"]["ContainerDefinitions"]
    ]
    assert container["Image"] in worker_images
    assert definition["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_the_gates_role_may_only_decrypt_payloads(synth: Synth) -> None:
    task_role = replay_task_definition(synth)["TaskRoleArn"]["Fn::GetAtt"][0]
    assert role_actions(synth, {"Ref": task_role}) == {"kms:Decrypt"}


def test_the_stack_tells_the_pipeline_how_to_run_it(synth: Synth) -> None:
    outputs = synth.document["Outputs"]
    assert outputs["ReplayGateTaskDefinition"]["Value"] == family_name("OmsOnTemporal")
    assert outputs["ReplayGateAssignPublicIp"]["Value"] == "DISABLED"  # production: private
    assert {"ReplayGateSubnets", "ReplayGateSecurityGroup"} <= outputs.keys()


OUTPUTS = {
    "WorkerClusterName": "cluster",
    "ReplayGateTaskDefinition": "OmsOnTemporal-replay-gate",
    "ReplayGateSubnets": "subnet-1,subnet-2",
    "ReplayGateSecurityGroup": "sg-1",
    "ReplayGateAssignPublicIp": "DISABLED",
}


class FakeEcs:
    """Answers like ECS: a started task that stops with `exit_code` (None: never ran)."""

    def __init__(self, exit_code: int | None, *, start: bool = True, stops: bool = True) -> None:
        self.exit_code, self.start, self.stops = exit_code, start, stops
        self.run_task_calls: list[dict[str, Any]] = []

    def run_task(self, **kwargs: Any) -> dict[str, Any]:
        self.run_task_calls.append(kwargs)
        if not self.start:
            return {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:ENI"}]}
        return {"tasks": [{"taskArn": "arn:task/1"}], "failures": []}

    def get_waiter(self, name: str) -> Any:
        assert name == "tasks_stopped"
        fake = self

        class Waiter:
            def wait(self, **kwargs: Any) -> None:
                if not fake.stops:
                    raise WaiterError("tasks_stopped", "Max attempts exceeded", {})

        return Waiter()

    def describe_tasks(self, **kwargs: Any) -> dict[str, Any]:
        container: dict[str, Any] = {"name": CONTAINER_NAME, "reason": "CannotPullContainer"}
        if self.exit_code is not None:
            container["exitCode"] = self.exit_code
        return {"tasks": [{"containers": [container], "stoppedReason": "Essential exited"}]}


@pytest.mark.parametrize("exit_code", [0, 1])
def test_the_pipeline_gets_the_gates_exit_code(exit_code: int) -> None:
    ecs = FakeEcs(exit_code)
    code, line = run_replay_task(ecs, OUTPUTS, within_seconds=60)
    assert code == exit_code
    assert ("passed" in line) == (exit_code == 0)
    (call,) = ecs.run_task_calls
    network = call["networkConfiguration"]["awsvpcConfiguration"]
    assert network["subnets"] == ["subnet-1", "subnet-2"]
    assert call["taskDefinition"] == "OmsOnTemporal-replay-gate"


@pytest.mark.parametrize(
    "ecs",
    [FakeEcs(None), FakeEcs(0, start=False), FakeEcs(0, stops=False)],
    ids=["no-exit-code", "not-started", "never-stopped"],
)
def test_a_gate_that_did_not_run_fails_the_rollout(ecs: FakeEcs) -> None:
    code, _ = run_replay_task(ecs, OUTPUTS, within_seconds=60)
    assert code == TASK_FAILED

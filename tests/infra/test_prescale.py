"""The pre-scale of a new worker build before promote (infra/prescale.py), against the
session's moto server (ECS and Application Auto Scaling: the same requests as on AWS).

moto keeps a scalable target's range but does not do what AWS then does (Application Auto
Scaling moving the service's desired count into the new range, ECS starting the tasks): the
test's `sleep` plays that part, between two polls, in moto's own ECS backend (the threaded
server runs in this process)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from infra.prescale import (
    DESIRED_COUNT,
    PrescaleError,
    main,
    prescale_to_current,
    release_prescale,
)

REGION = "eu-west-1"
STACK_MINIMUM = 2


class Aws:
    """Two build services of one stack, the new one with its scalable target."""

    def __init__(self, endpoint: str, *, current_tasks: int, maximum: int = 10) -> None:
        self.ecs = boto3.client("ecs", endpoint_url=endpoint, region_name=REGION)
        self.autoscaling = boto3.client(
            "application-autoscaling", endpoint_url=endpoint, region_name=REGION
        )
        self.cluster = f"OmsOnTemporal-WorkersCluster{uuid.uuid4().hex[:8]}"
        self.outputs = {"WorkerClusterName": self.cluster, "WorkerMinTasks": str(STACK_MINIMUM)}
        self.ecs.create_cluster(clusterName=self.cluster)
        self.ecs.register_task_definition(
            family="worker", containerDefinitions=[{"name": "worker", "image": "x", "memory": 512}]
        )
        for build, count in (("b1", current_tasks), ("b2", STACK_MINIMUM)):
            self.ecs.create_service(
                cluster=self.cluster,
                serviceName=f"oms-worker-{build}",
                taskDefinition="worker",
                desiredCount=count,
            )
            self.set_running(build, count)
        self.autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=f"service/{self.cluster}/oms-worker-b2",
            ScalableDimension=DESIRED_COUNT,
            MinCapacity=STACK_MINIMUM,
            MaxCapacity=maximum,
        )
        self.slept = 0.0

    def set_running(self, build: str, count: int) -> None:
        backend = ecs_backends[DEFAULT_ACCOUNT_ID][REGION]
        (service,) = [
            s
            for s in backend.services.values()
            if s.name == f"oms-worker-{build}" and s.cluster_name == self.cluster
        ]
        service.desired_count = service.running_count = count

    def minimum(self) -> int:
        (target,) = self.autoscaling.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/{self.cluster}/oms-worker-b2"]
        )["ScalableTargets"]
        return int(target["MinCapacity"])

    def tasks_start(self, seconds: float) -> None:
        """What AWS does after the minimum is raised: the desired count follows, tasks run."""
        self.slept += seconds
        self.set_running("b2", self.minimum())

    def clock(self) -> float:
        return self.slept

    def hold(self, current: str = "b1", *, sleep: Any = None) -> str:
        return prescale_to_current(
            self.ecs,
            self.autoscaling,
            self.outputs,
            new_build="b2",
            current_build=current,
            within_seconds=60,
            clock=self.clock,
            sleep=sleep or self.tasks_start,
        )


def test_the_new_build_runs_as_many_tasks_as_the_current_one_then_autoscaling_takes_over(
    moto_endpoint: str,
) -> None:
    # Given the current build runs 6 tasks and the new one the stack's 2
    aws = Aws(moto_endpoint, current_tasks=6)
    # When the pipeline holds the new build at the current one's size
    line = aws.hold()
    # Then its minimum is 6 and 6 tasks run before promote
    assert aws.minimum() == 6
    assert "runs 6 tasks, as current build b1" in line
    # And after promote its minimum is the stack's again: scale-in is autoscaling's
    assert "minimum back to 2" in release_prescale(aws.autoscaling, aws.outputs, new_build="b2")
    assert aws.minimum() == STACK_MINIMUM


def test_the_pre_scale_stops_at_the_new_builds_maximum(moto_endpoint: str) -> None:
    aws = Aws(moto_endpoint, current_tasks=14, maximum=10)
    aws.hold()
    assert aws.minimum() == 10


@pytest.mark.parametrize("current", ["", "b2", "gone"])
def test_nothing_to_match_changes_nothing(moto_endpoint: str, current: str) -> None:
    # First deploy (no current build), the same build, or a build without a service here.
    aws = Aws(moto_endpoint, current_tasks=6)
    assert "nothing to" in aws.hold(current)
    assert aws.minimum() == STACK_MINIMUM


def test_a_smaller_current_build_never_lowers_the_minimum(moto_endpoint: str) -> None:
    aws = Aws(moto_endpoint, current_tasks=1)
    assert "already has at least" in aws.hold()
    assert aws.minimum() == STACK_MINIMUM


def test_tasks_that_do_not_start_stop_the_rollout_and_release_undoes_the_hold(
    moto_endpoint: str,
) -> None:
    aws = Aws(moto_endpoint, current_tasks=6)

    def no_capacity(seconds: float) -> None:  # e.g. Fargate capacity or a bad image
        aws.slept += seconds

    with pytest.raises(PrescaleError, match="runs 2 of 6 tasks after 60 s"):
        aws.hold(sleep=no_capacity)
    release_prescale(aws.autoscaling, aws.outputs, new_build="b2")  # deploy.yml: always()
    assert aws.minimum() == STACK_MINIMUM


def test_the_commands_parse_as_deploy_yml_calls_them() -> None:
    assert main(["hold", "--help"]) == 0
    assert main(["release", "--help"]) == 0
    assert main(["hold"]) == 2  # usage error: the outputs file and the build are required

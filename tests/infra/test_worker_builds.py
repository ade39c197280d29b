"""One Fargate service per live worker build (CONTRACT.md §10), on the Workers construct alone
(a small stack: three renderings stay cheap) and on the context key `workerBuilds`."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from infra.components.workers import Workers
from infra.config import ConfigError, DeployConfig

NEWEST_IMAGE = "public.ecr.aws/example/oms-worker:newest"


def render(builds: tuple[str, ...]) -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(
        app, "Workers", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    Workers(
        stack,
        "Workers",
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        assign_public_ip=False,
        image=ecs.ContainerImage.from_registry(NEWEST_IMAGE),
        environment={"OMS_TASK_QUEUE": "order-processing"},
        secrets={},
        cpu=512,
        memory_mib=1024,
        desired_count=2,
        min_count=2,
        max_count=10,
        cpu_target_percent=60,
        stop_timeout=cdk.Duration.seconds(60),
        log_retention=logs.RetentionDays.ONE_WEEK,
        builds=builds,
        deployment_name="oms",
    )
    return Template.from_stack(stack).to_json()["Resources"]


def services(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Service name -> (its container's image, its environment)."""
    tasks = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::ECS::TaskDefinition"
    }
    found = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::ECS::Service":
            continue
        properties = resource["Properties"]
        (container,) = tasks[properties["TaskDefinition"]["Ref"]]["ContainerDefinitions"]
        found[properties.get("ServiceName", "")] = {
            "image": json.dumps(container["Image"]),
            "env": {e["Name"]: e["Value"] for e in container["Environment"]},
            "desired": properties["DesiredCount"],
        }
    return found


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_service_per_live_build_named_by_build_id(count: int) -> None:
    builds = ("c3", "b2", "a1")[:count]  # newest first

    rendered = services(render(builds))

    assert set(rendered) == {f"oms-worker-{b}" for b in builds}
    for build in builds:
        service = rendered[f"oms-worker-{build}"]
        assert service["env"]["OMS_BUILD_ID"] == build
        assert service["env"]["OMS_WORKER_DEPLOYMENT"] == "oms"
        assert service["env"]["OMS_TASK_QUEUE"] == "order-processing"
        assert service["desired"] == 2
    # The newest runs the image built now; the draining ones their own image, by build id.
    assert NEWEST_IMAGE in rendered[f"oms-worker-{builds[0]}"]["image"]
    for build in builds[1:]:
        image = rendered[f"oms-worker-{build}"]["image"]
        assert NEWEST_IMAGE not in image
        assert f":{build}" in image


def test_services_share_the_cluster_role_and_security_group_and_scale_each() -> None:
    resources = render(("b2", "a1"))
    by_type: dict[str, int] = {}
    for resource in resources.values():
        by_type[resource["Type"]] = by_type.get(resource["Type"], 0) + 1

    assert by_type["AWS::ECS::Cluster"] == 1
    assert by_type["AWS::ECR::Repository"] == 1
    assert by_type["AWS::ApplicationAutoScaling::ScalableTarget"] == 2
    task_roles = {
        json.dumps(r["Properties"]["TaskRoleArn"])
        for r in resources.values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
    }
    assert len(task_roles) == 1


def test_without_builds_one_unversioned_service() -> None:
    rendered = services(render(()))

    ((name, service),) = rendered.items()
    assert name == ""  # CloudFormation names it
    assert "OMS_BUILD_ID" not in service["env"]


def context(**values: Any) -> Any:
    return values.get


def test_worker_builds_come_from_context_newest_first() -> None:
    config = DeployConfig.from_context(context(workerBuilds="3f2a9c1, 1b7e0d2"))

    assert config.worker_builds == ("3f2a9c1", "1b7e0d2")


@pytest.mark.parametrize("value", ["a,a", "a b", "x" * 41, "a,b,c,d,e", "ok,bad/slash"], ids=str)
def test_wrong_worker_builds_fail_naming_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match="workerBuilds"):
        DeployConfig.from_context(context(workerBuilds=value))


def test_draining_builds_scale_in_and_the_newest_keeps_its_minimum() -> None:
    resources = render(("c3", "b2", "a1"))  # c3 newest; b2 and a1 drain once c3 is promoted

    minimums = sorted(
        r["Properties"]["MinCapacity"]
        for r in resources.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    )
    cpu_scale_in = sorted(
        not r["Properties"]["TargetTrackingScalingPolicyConfiguration"]["DisableScaleIn"]
        for r in resources.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
        and r["Properties"]["PolicyType"] == "TargetTrackingScaling"
    )

    # The newest keeps the production minimum and only its backlog removes tasks; each older
    # build may shrink to one task on CPU as its pinned orders finish.
    assert minimums == [1, 1, 2]
    assert cpu_scale_in == [False, True, True]

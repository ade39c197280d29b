"""What a first deploy on a fresh account depends on, asserted on the synthesised template:
the secret ECS injects is the secret IAM grants, arm64 everywhere, the health check, the
production floor of two workers, tags and the recommended feature flags."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk
from aws_cdk.assertions import Capture, Match

from infra.components.workers import HEALTH_CHECK_COMMAND

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

PROJECT_DIR = Path(__file__).resolve().parents[2]
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf"


def statements_of(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_secret_ecs_injects_is_exactly_the_secret_the_execution_role_may_read(
    synth: Synth,
) -> None:
    # Given: what ECS resolves for the container, and the role ECS resolves it with
    value_from, execution_role = Capture(), Capture()
    synth.template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ExecutionRoleArn": {"Fn::GetAtt": [execution_role, "Arn"]},
            "ContainerDefinitions": [
                Match.object_like(
                    {"Secrets": [{"Name": "TEMPORAL_API_KEY", "ValueFrom": value_from}]}
                )
            ],
        },
    )

    # When: the statements that grant reading secrets
    reads = [
        s
        for s in statements_of(synth, execution_role.as_string())
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]

    # Then: one grant, on the complete ARN, and the injected reference is that ARN + JSON key
    # (a partial ARN against a `name-??????` grant is the AccessDenied of aws-cdk #24142).
    assert [s["Resource"] for s in reads] == [SECRET_ARN]
    assert value_from.as_string() == f"{SECRET_ARN}:apiKey::"
    assert value_from.as_string().startswith(reads[0]["Resource"] + ":")


def test_the_starter_reads_the_secret_it_is_told_about_and_no_other(synth: Synth) -> None:
    role = Capture()
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"OMS_TEMPORAL_SECRET_ARN": SECRET_ARN})
            },
            "Role": {"Fn::GetAtt": [role, "Arn"]},
        },
    )

    reads = [
        s["Resource"]
        for s in statements_of(synth, role.as_string())
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]

    assert reads == [SECRET_ARN]


def test_workers_run_on_arm64_with_an_arm64_image(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}},
    )
    assets = json.loads(next(synth.outdir.glob("*.assets.json")).read_text())
    (image,) = assets["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"


def test_the_container_health_check_asks_the_worker_whether_it_polls(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "HealthCheck": {
                            "Command": list(HEALTH_CHECK_COMMAND),
                            "Interval": 30,
                            "Timeout": 5,
                            "Retries": 3,
                            "StartPeriod": 60,
                        }
                    }
                )
            ]
        },
    )
    # The Dockerfile's HEALTHCHECK runs the same command (for `docker run` and local checks).
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert '"/opt/oms/bin/python", "-m", "oms.health"' in dockerfile


def test_production_keeps_two_workers_over_two_zones(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::ECS::Service", {"DesiredCount": 2})
    synth.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2}
    )
    _, service = synth.one("AWS::ECS::Service")
    subnets = service["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    zones = {
        json.dumps(synth.resources[s["Ref"]]["Properties"]["AvailabilityZone"]) for s in subnets
    }
    assert len(zones) == 2


def test_every_taggable_resource_carries_the_project_tags(synth: Synth) -> None:
    tagged = {
        logical_id: {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        for logical_id, resource in synth.resources.items()
        if isinstance(resource.get("Properties", {}).get("Tags"), list)
    }

    assert len(tagged) >= 15  # queues, tables, VPC parts, cluster, roles, log groups, ...
    for logical_id, tags in tagged.items():
        assert tags.items() >= {"Project": "oms", "Stage": "production"}.items(), logical_id
    # Tag maps (e.g. SSM-style resources) as well.
    synth.template.has_resource_properties(
        "AWS::SQS::Queue", {"Tags": Match.array_with([{"Key": "ManagedBy", "Value": "cdk"}])}
    )


def test_cdk_json_sets_every_recommended_feature_flag() -> None:
    # The flags `cdk init` would write for this aws-cdk-lib, read from its own package.
    package = Path(aws_cdk.__file__).parent / "_jsii" / f"aws-cdk-lib@{aws_cdk_version()}.jsii.tgz"
    with tarfile.open(package) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        recommended = json.loads(member.read())

    context = json.loads((PROJECT_DIR / "cdk.json").read_text())["context"]

    assert {k: context.get(k) for k in recommended} == recommended


def aws_cdk_version() -> str:
    (name,) = [
        p.name
        for p in (Path(aws_cdk.__file__).parent / "_jsii").iterdir()
        if p.name.startswith("aws-cdk-lib@")
    ]
    match = re.match(r"aws-cdk-lib@(.+)\.jsii\.tgz", name)
    assert match
    return match.group(1)

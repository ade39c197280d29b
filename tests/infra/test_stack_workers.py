"""Fargate workers, their network, the tables and SES, asserted on the synthesised template."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from infra.components.network import Network
from infra.components.temporal import TemporalConnection

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def container(synth: Synth) -> dict[str, Any]:
    _, task = synth.worker_task()
    (definition,) = task["ContainerDefinitions"]
    return definition


def environment(synth: Synth) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container(synth)["Environment"]}


def test_no_load_balancer_anywhere(synth: Synth) -> None:
    types = {r["Type"] for r in synth.resources.values()}

    assert not [t for t in types if t.startswith("AWS::ElasticLoadBalancing")]
    _, service = synth.one("AWS::ECS::Service")
    assert not service.get("LoadBalancers")


def test_service_runs_in_private_subnets_without_public_ips(synth: Synth) -> None:
    _, service = synth.one("AWS::ECS::Service")

    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]

    assert service["LaunchType"] == "FARGATE"
    assert network["AssignPublicIp"] == "DISABLED"
    subnets = [synth.resources[ref["Ref"]] for ref in network["Subnets"]]
    assert subnets
    for subnet in subnets:
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Private"
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_security_group_has_no_inbound_rule(synth: Synth) -> None:
    _, service = synth.one("AWS::ECS::Service")
    (group,) = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    group_id = group["Fn::GetAtt"][0]

    assert "SecurityGroupIngress" not in synth.resources[group_id]["Properties"]
    standalone = synth.of_type("AWS::EC2::SecurityGroupIngress").values()
    assert not [r for r in standalone if group_id in json.dumps(r)]


def test_temporal_credentials_are_injected_as_secrets_never_as_plain_env(synth: Synth) -> None:
    secrets = {s["Name"]: s["ValueFrom"] for s in container(synth)["Secrets"]}

    assert secrets == {
        "TEMPORAL_API_KEY": (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf:apiKey::"
        )
    }
    env = environment(synth)
    assert not {
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS_CLIENT_CERT_DATA",
        "TEMPORAL_TLS_CLIENT_KEY_DATA",
    } & set(env)
    assert env["TEMPORAL_ADDRESS"] == "oms-prod.a1b2c.tmprl.cloud:7233"
    assert env["TEMPORAL_NAMESPACE"] == "oms-prod.a1b2c"


def test_stop_timeout_leaves_room_for_the_workers_drain(synth: Synth) -> None:
    drain = float(environment(synth)["OMS_GRACEFUL_SHUTDOWN_SECONDS"])

    stop_timeout = container(synth)["StopTimeout"]

    assert drain == 45  # workerDrainSeconds from the context
    assert drain + 20 <= stop_timeout <= 120  # Fargate's maximum


def test_worker_logs_go_to_cloudwatch(synth: Synth) -> None:
    logging = container(synth)["LogConfiguration"]

    assert logging["LogDriver"] == "awslogs"
    assert synth.resources[logging["Options"]["awslogs-group"]["Ref"]]["Type"] == (
        "AWS::Logs::LogGroup"
    )


def test_cluster_has_container_insights(synth: Synth) -> None:
    _, cluster = synth.one("AWS::ECS::Cluster")

    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


def test_cpu_only_adds_workers_between_the_configured_bounds(synth: Synth) -> None:
    _, target = synth.one("AWS::ApplicationAutoScaling::ScalableTarget")
    (policy,) = [
        p["Properties"]
        for p in synth.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["PolicyType"] == "TargetTrackingScaling"
    ]

    # Production: never below two tasks.
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization"
    )
    assert tracking["TargetValue"] == 60
    # Secondary signal: scale-in belongs to the backlog policy (test_stack_operations.py).
    assert tracking["DisableScaleIn"] is True


def test_worker_image_build_context_is_trimmed_by_dockerignore(synth: Synth) -> None:
    assets = json.loads(next(synth.outdir.glob("*.assets.json")).read_text())
    (image,) = assets["dockerImages"].values()
    context = synth.outdir / image["source"]["directory"]

    staged = {
        str(p.relative_to(context)) for p in context.rglob("*") if "__pycache__" not in p.parts
    }

    assert {"Dockerfile", "infra/locks/runtime.txt", "service/oms/worker.py"} <= staged
    assert {s.split("/")[0] for s in staged} == {".dockerignore", "Dockerfile", "infra", "service"}
    assert {s for s in staged if s.startswith("infra/")} == {
        "infra/locks",
        "infra/locks/runtime.txt",
    }
    size = sum(p.stat().st_size for p in context.rglob("*") if p.is_file())
    assert size < 2_000_000, f"worker build context is {size} bytes"


def test_tables_are_on_demand_encrypted_recoverable_and_retained(synth: Synth) -> None:
    tables = synth.of_type("AWS::DynamoDB::Table").values()

    schemas = sorted(str(t["Properties"]["KeySchema"]) for t in tables)

    assert schemas == sorted(
        [
            str([{"AttributeName": "sku", "KeyType": "HASH"}]),
            str(
                [
                    {"AttributeName": "orderId", "KeyType": "HASH"},
                    {"AttributeName": "record", "KeyType": "RANGE"},
                ]
            ),
        ]
    )
    for table in tables:
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_ses_identity_uses_the_configuration_set(synth: Synth) -> None:
    config_set_id, _ = synth.one("AWS::SES::ConfigurationSet")
    _, identity = synth.one("AWS::SES::EmailIdentity")

    assert identity["EmailIdentity"] == "shop.example.com"  # senderDomain
    assert identity["ConfigurationSetAttributes"] == {
        "ConfigurationSetName": {"Ref": config_set_id}
    }
    # Easy DKIM records to publish are stack outputs.
    assert sum(key.startswith("EmailDkimRecord") for key in synth.document["Outputs"]) == 3


def test_new_vpc_keeps_dynamodb_and_s3_traffic_off_the_nat_gateway(synth: Synth) -> None:
    endpoints = synth.of_type("AWS::EC2::VPCEndpoint").values()

    services = {json.dumps(e["Properties"]["ServiceName"]) for e in endpoints}

    assert any(".dynamodb" in s for s in services)
    assert any(".s3" in s for s in services)
    assert len(synth.of_type("AWS::EC2::NatGateway")) == 1
    assert len(synth.of_type("AWS::EC2::FlowLog")) == 1


def test_mtls_injects_certificate_and_key_from_their_json_keys() -> None:
    # No synth: resolving the secret references of a bare construct is enough.
    stack = cdk.Stack(cdk.App(), "Mtls")
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/mtls-AbCdEf"
    connection = TemporalConnection(
        stack,
        "Temporal",
        address="ns.acct.tmprl.cloud:7233",
        namespace="ns",
        auth="mtls",
        secret=arn,
    )

    secrets = {name: stack.resolve(s.arn) for name, s in connection.container_secrets().items()}

    assert secrets == {
        "TEMPORAL_TLS_CLIENT_CERT_DATA": f"{arn}:tlsCert::",
        "TEMPORAL_TLS_CLIENT_KEY_DATA": f"{arn}:tlsKey::",
    }


def test_without_nat_gateways_workers_get_public_subnets_and_no_nat() -> None:
    # No full synth: the network construct alone (a development stage's egress).
    stack = cdk.Stack(cdk.App(), "Dev")
    network = Network(
        stack,
        "Network",
        vpc_id=None,
        private_subnet_ids=(),
        availability_zones=(),
        nat_gateways=0,
        log_retention=logs.RetentionDays.ONE_WEEK,
    )

    template = Template.from_stack(stack)

    assert network.public_egress is True
    assert network.worker_subnets.subnet_type == ec2.SubnetType.PUBLIC
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.has_resource_properties(
        "AWS::EC2::Subnet",
        {"Tags": Match.array_with([{"Key": "aws-cdk:subnet-type", "Value": "Public"}])},
    )
    subnet_types = {
        tag["Value"]
        for subnet in template.find_resources("AWS::EC2::Subnet").values()
        for tag in subnet["Properties"]["Tags"]
        if tag["Key"] == "aws-cdk:subnet-type"
    }
    assert subnet_types == {"Public"}

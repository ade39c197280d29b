"""The replay gate inside the account: a one-off Fargate task of the new build's image.

The new workflow code replays the namespace's recent histories (`oms.ops.replay_gate`), which
needs kms:Decrypt on the payload key: customer data. So the decryption happens here, in the
account, in a task whose role can do nothing but decrypt payload data keys; its output goes to
its own log group. The pipeline only starts the task and reads the container's exit code
(`infra/replay_task.py`), and it does so after `cdk deploy` and before `promote`: until the
build is promoted, no workflow runs on it (pinned ones stay on their build, auto-upgrade ones
follow the current one), so a non-determinism stops the rollout before any workflow meets it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge
from infra.replay_task import CONTAINER_NAME, family_name

# Recent executions replayed per workflow type (the gate's --sample).
REPLAY_SAMPLE = 100
REPLAY_COMMAND = ("/opt/oms/bin/python", "-m", "oms.ops.replay_gate", "--sample")

__all__ = ["CONTAINER_NAME", "ReplayGate", "family_name"]


class ReplayGate(Construct):
    """The task definition (arm64, the workers' image and connection settings) and its role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        family: str,
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        secrets: Mapping[str, ecs.Secret],
        log_retention: logs.RetentionDays,
        vpc: ec2.IVpc,
    ) -> None:
        super().__init__(scope, construct_id)
        # Its own role: the workers' role could also write the ledger and send email.
        self.task_role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="OMS replay gate: decrypts payloads of recent histories, nothing else",
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=family,
            cpu=1024,  # replaying 100 histories per type: CPU-bound, short
            memory_limit_mib=2048,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.task_definition.add_container(
            CONTAINER_NAME,
            image=image,
            # The image's entry point is the worker; the gate replaces it.
            entry_point=[*REPLAY_COMMAND, str(REPLAY_SAMPLE)],
            environment=dict(environment),
            secrets=dict(secrets),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="replay",
                log_group=logs.LogGroup(self, "Logs", retention=log_retention),
            ),
        )
        # Egress only (Temporal Cloud, KMS); run-task names it with the workers' subnets.
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="OMS replay gate: outbound only, no inbound rules",
            allow_all_outbound=True,
        )
        acknowledge(
            self.task_definition,
            "ECS2",
            "Only non-secret settings (Temporal address, key ARN) are plain environment; the "
            "Temporal credentials are injected from Secrets Manager.",
        )
        acknowledge(
            self.task_definition,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull the image, "
            "only exists with Resource '*'.",
        )

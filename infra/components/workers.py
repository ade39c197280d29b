"""Workers: `oms worker` containers on ECS Fargate, polling Temporal Cloud."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge

# What the container's health check runs: exit 0 while the worker is connected and polling
# (`oms.health`; the Dockerfile's HEALTHCHECK runs the same, ECS ignores that one).
HEALTH_CHECK_COMMAND = ("CMD", "/opt/oms/bin/python", "-m", "oms.health")


def worker_image(project_dir: Path) -> ecs.ContainerImage:
    """The arm64 image built from the project's Dockerfile at deploy time (only staged at
    synth; the build context is trimmed by .dockerignore)."""
    return ecs.ContainerImage.from_asset(str(project_dir), platform=ecr_assets.Platform.LINUX_ARM64)


class Workers(Construct):
    """A Fargate service (arm64, Graviton) with no load balancer and no inbound rules: workers
    only poll. Tasks spread over the VPC's AZs (ECS's default for Fargate).

    The container's stop timeout leaves room for the worker's drain on SIGTERM (scale-in,
    redeploy); CPU-based auto scaling adds workers under load.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        secrets: Mapping[str, ecs.Secret],
        cpu: int,
        memory_mib: int,
        desired_count: int,
        min_count: int,
        max_count: int,
        cpu_target_percent: int,
        stop_timeout: Duration,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=cpu,
            memory_limit_mib=memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.task_role: iam.IRole = task_definition.task_role
        task_definition.add_container(
            "worker",
            image=image,
            environment=dict(environment),
            secrets=dict(secrets),
            stop_timeout=stop_timeout,
            health_check=ecs.HealthCheck(
                command=list(HEALTH_CHECK_COMMAND),
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                # Connecting (secrets, TLS, the first heartbeat) before failures count.
                start_period=Duration.seconds(60),
            ),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="worker",
                log_group=logs.LogGroup(self, "Logs", retention=log_retention),
            ),
        )
        # Egress only: Temporal Cloud (7233) and AWS APIs over HTTPS.
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="OMS workers: outbound only, no inbound rules",
            allow_all_outbound=True,
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            desired_count=desired_count,
            # Only without a NAT gateway (development): egress, never ingress (no inbound rule).
            assign_public_ip=assign_public_ip,
            vpc_subnets=subnets,
            security_groups=[security_group],
            # New tasks start before old ones stop, so a redeploy never drops below the count.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        # The primary signal is the task queue's backlog (components/scaling.py adds those
        # policies to `self.scaling`); CPU may only add workers, never remove them.
        self.scaling = self.service.auto_scale_task_count(
            min_capacity=min_count, max_capacity=max_count
        )
        self.scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=cpu_target_percent,
            scale_out_cooldown=Duration.seconds(60),
            disable_scale_in=True,
        )
        acknowledge(
            task_definition,
            "ECS2",
            "Only non-secret settings (table and queue names, Temporal address) are plain "
            "environment; the Temporal credentials are injected from Secrets Manager.",
        )
        acknowledge(
            task_definition,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull the image, "
            "only exists with Resource '*'.",
        )

    def metric_running_tasks(self) -> cloudwatch.Metric:
        """Container Insights' count of running worker tasks (minimum over the minute)."""
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": self.cluster.cluster_name,
                "ServiceName": self.service.service_name,
            },
            statistic=cloudwatch.Stats.MINIMUM,
            period=Duration.minutes(1),
        )

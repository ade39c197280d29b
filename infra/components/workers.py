"""Workers: `oms worker` containers on ECS Fargate, polling Temporal Cloud."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge

# What the container's health check runs: exit 0 while the worker process is alive, i.e.
# connecting (with backoff) or its poll loop running. Not Temporal's reachability: an outage
# must not make ECS cycle every task (`oms.health`; the Dockerfile's HEALTHCHECK runs the same,
# ECS ignores that one).
HEALTH_CHECK_COMMAND = ("CMD", "/opt/oms/bin/python", "-m", "oms.health")
# Images kept in the build-images repository: far more than the live builds (rollback targets).
MAX_BUILD_IMAGES = 30


def worker_image(project_dir: Path) -> ecs.ContainerImage:
    """The arm64 image built from the project's Dockerfile at deploy time (only staged at
    synth; the build context is trimmed by .dockerignore)."""
    return ecs.ContainerImage.from_asset(str(project_dir), platform=ecr_assets.Platform.LINUX_ARM64)


class Workers(Construct):
    """Fargate services (arm64, Graviton) with no load balancer and no inbound rules: workers
    only poll. Tasks spread over the VPC's AZs (ECS's default for Fargate).

    With Worker Versioning (`builds`, newest first) there is one service per live build, named
    by its build id, each worker joining the Worker Deployment as that version: a deploy adds a
    service instead of replacing tasks, so an order runs to its end on the build that started
    it (CONTRACT.md §7, §10). The newest build runs `image`; older ones the image the pipeline
    pushed to `build_images` under their build id (the commit) when they were new. Without
    builds: one unversioned service.

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
        builds: Sequence[str] = (),
        deployment_name: str = "oms",
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        # One role for every build: the grants (tables, SES, KMS) are made once.
        self.task_role: iam.IRole = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="OMS workers (every live build)",
        )
        self._log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        # Every deployed build's image, tagged with its build id: what a draining build runs
        # after the next deploy (the asset image only exists for the newest).
        self.build_images = ecr.Repository(
            self,
            "BuildImages",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            lifecycle_rules=[ecr.LifecycleRule(max_image_count=MAX_BUILD_IMAGES)],
        )
        # Egress only: Temporal Cloud (7233) and AWS APIs over HTTPS.
        self._security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="OMS workers: outbound only, no inbound rules",
            allow_all_outbound=True,
        )
        self._vpc, self._subnets, self._public_ip = vpc, subnets, assign_public_ip
        self._sizes = (cpu, memory_mib, desired_count, min_count, max_count, cpu_target_percent)
        self._stop_timeout = stop_timeout
        # build id ("" when unversioned) -> its service, newest first.
        self.services: dict[str, ecs.FargateService] = {}
        self.scalings: dict[str, ecs.ScalableTaskCount] = {}
        if not builds:
            self.services[""] = self._service("", image, dict(environment), secrets)
        for index, build in enumerate(builds):
            if index == 0:
                build_image = image
            else:
                build_image = ecs.ContainerImage.from_ecr_repository(self.build_images, tag=build)
            env = {
                **environment,
                "OMS_BUILD_ID": build,
                "OMS_WORKER_DEPLOYMENT": deployment_name,
            }
            self.services[build] = self._service(
                build, build_image, env, secrets, draining=index > 0
            )
        # The newest build's service: the one new orders start on once it is promoted.
        self.service = next(iter(self.services.values()))
        self.scaling = next(iter(self.scalings.values()))

    def _service(
        self,
        build: str,
        image: ecs.ContainerImage,
        environment: dict[str, str],
        secrets: Mapping[str, ecs.Secret],
        *,
        draining: bool = False,
    ) -> ecs.FargateService:
        cpu, memory_mib, desired_count, min_count, max_count, cpu_target = self._sizes
        if draining:
            # An older build (draining once the new one is promoted) gets no new orders: it
            # may shrink to one task as its pinned orders finish, and CPU tracking scales it
            # in (the backlog policies follow the newest build only).
            min_count = 1
        # Unversioned: the construct ids of the single-service stack (no replacement).
        scope: Construct = Construct(self, f"Build-{build}") if build else self
        task_definition = ecs.FargateTaskDefinition(
            scope,
            "TaskDefinition",
            cpu=cpu,
            memory_limit_mib=memory_mib,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task_definition.add_container(
            "worker",
            image=image,
            environment=environment,
            secrets=dict(secrets),
            stop_timeout=self._stop_timeout,
            health_check=ecs.HealthCheck(
                command=list(HEALTH_CHECK_COMMAND),
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                # Connecting (secrets, TLS, the first heartbeat) before failures count.
                start_period=Duration.seconds(60),
            ),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=f"worker-{build}" if build else "worker",
                log_group=self._log_group,
            ),
        )
        service = ecs.FargateService(
            scope,
            "Service",
            cluster=self.cluster,
            task_definition=task_definition,
            # Named by build id, so `oms versions list` and the ECS console say the same.
            service_name=f"oms-worker-{build}" if build else None,
            desired_count=desired_count,
            # Only without a NAT gateway (development): egress, never ingress (no inbound rule).
            assign_public_ip=self._public_ip,
            vpc_subnets=self._subnets,
            security_groups=[self._security_group],
            # New tasks start before old ones stop, so a redeploy never drops below the count.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        # The primary signal is the task queue's backlog (components/scaling.py adds those
        # policies to the newest build's `self.scaling`); CPU may only add workers.
        scaling = service.auto_scale_task_count(min_capacity=min_count, max_capacity=max_count)
        self.scalings[build] = scaling
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=cpu_target,
            scale_out_cooldown=Duration.seconds(60),
            scale_in_cooldown=Duration.seconds(300),
            # The newest build scales in on its backlog (components/scaling.py); a draining
            # build has no backlog signal of its own, so CPU may remove its idle tasks.
            disable_scale_in=not draining,
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
        return service

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

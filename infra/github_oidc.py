"""The GitHub Actions deploy role, as code: exactly what deploy.yml's jobs call, nothing more.

A small stack of its own (`-c githubRepository=OWNER/REPO -c temporalDeploySecret=ARN`), so
the role exists before the first pipeline run and the main stack never grants its deployer.
What each statement is for (deploy.yml):
- the CDK bootstrap roles: `cdk diff` / `cdk deploy` / the asset publishing;
- `cloudformation:DescribeStacks` on the OMS stack: the live builds (`WorkerBuilds`) and the
  image repository (`WorkerImageRepositoryUri`);
- the *deploy* Temporal credential (not the workers' one: that key is runtime-only), for
  `oms.ops.rollout` and `oms versions promote`;
- ECR push of the worker image to the build-images repository;
- the in-account replay gate: run its task (passing its two roles to ECS) and read its exit
  code (`infra/replay_task.py`);
- the smoke check's reads (starter function, worker service, queues) and, outside
  production, the canary's one message;
- the pre-scale of the new build (`infra/prescale.py`): its scalable target's minimum, read and
  set, on the stack's build services only.
No `kms:Decrypt`: nothing on a GitHub-hosted runner decrypts customer data (the replay of
recent histories runs in the account).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.components.replay_gate import family_name
from infra.config import ConfigError, is_secret_arn
from infra.nag import acknowledge
from infra.prescale import SERVICE_PREFIX as BUILD_SERVICE_PREFIX

GITHUB_ISSUER = "token.actions.githubusercontent.com"
CDK_QUALIFIER = "hnb659fds"
CDK_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
# ECR's repository write actions a `docker push` makes.
ECR_PUSH = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
)


class GithubDeployStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: str,
        oms_stack_name: str,
        temporal_deploy_secret: str,
        production: bool,
        **kwargs: Any,
    ) -> None:
        if not is_secret_arn(temporal_deploy_secret):
            # An empty value would synthesise a statement without a resource (a failed deploy
            # of the role) and a bare name a grant that never matches: say so at synth.
            raise ConfigError(
                "context temporalDeploySecret: must be the deploy secret's complete ARN, ending "
                "in -XXXXXX (the pipeline's Temporal credential, not the workers' one)"
            )
        super().__init__(scope, construct_id, **kwargs)
        provider = iam.CfnOIDCProvider(
            self,
            "GithubProvider",
            url=f"https://{GITHUB_ISSUER}",
            client_id_list=["sts.amazonaws.com"],
        )
        self.role = iam.Role(
            self,
            "DeployRole",
            description=f"GitHub Actions deploy of {oms_stack_name} from {repository}",
            max_session_duration=cdk.Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                provider.attr_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
                        # Only jobs of the production environment (deploy.yml's plan, deploy).
                        f"{GITHUB_ISSUER}:sub": f"repo:{repository}:environment:production",
                    }
                },
            ),
        )
        account, region = self.account, self.region
        statements = [
            iam.PolicyStatement(
                sid="CdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=[
                    f"arn:{self.partition}:iam::{account}:role/cdk-{CDK_QUALIFIER}-{name}-role-{account}-{region}"
                    for name in CDK_ROLES
                ],
            ),
            iam.PolicyStatement(
                sid="ReadOmsStackOutputs",
                actions=["cloudformation:DescribeStacks"],
                resources=[
                    self.format_arn(
                        service="cloudformation",
                        resource="stack",
                        resource_name=f"{oms_stack_name}/*",
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="TemporalDeployCredential",
                actions=["secretsmanager:GetSecretValue"],
                resources=[temporal_deploy_secret],
            ),
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="PushWorkerImage",
                actions=list(ECR_PUSH),
                resources=[
                    self.format_arn(
                        service="ecr",
                        resource="repository",
                        resource_name=f"{oms_stack_name.lower()}-workersbuildimages*",
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="SmokeCheckReads",
                actions=[
                    "lambda:GetFunctionConfiguration",
                    "ecs:DescribeServices",
                    "sqs:GetQueueAttributes",
                ],
                resources=[
                    self.format_arn(
                        service="lambda",
                        resource="function",
                        resource_name=f"{oms_stack_name}-*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    ),
                    self.format_arn(
                        service="ecs", resource="service", resource_name=f"{oms_stack_name}-*/*"
                    ),
                    self.format_arn(service="sqs", resource=f"{oms_stack_name}-*"),
                ],
            ),
            iam.PolicyStatement(
                sid="RunReplayGate",
                actions=["ecs:RunTask"],
                resources=[
                    self.format_arn(
                        service="ecs",
                        resource="task-definition",
                        resource_name=f"{family_name(oms_stack_name)}:*",
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="WatchReplayGate",
                actions=["ecs:DescribeTasks"],
                resources=[
                    self.format_arn(
                        service="ecs", resource="task", resource_name=f"{oms_stack_name}-*/*"
                    )
                ],
            ),
            # RunTask hands the task its two roles; only the replay gate's, only to ECS tasks.
            iam.PolicyStatement(
                sid="PassReplayGateRoles",
                actions=["iam:PassRole"],
                resources=[
                    self.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=f"{oms_stack_name}-ReplayGate*",
                    )
                ],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
            # infra/prescale.py: the new build's minimum raised to the current build's size
            # before promote, then put back. Application Auto Scaling checks that the caller
            # may describe and update the ECS service it scales, so these two name the
            # stack's build services: that is what confines RegisterScalableTarget (its
            # scalable-target ARNs are random ids, unknown before creation) to this stack.
            iam.PolicyStatement(
                sid="PrescaleBuildServices",
                actions=["ecs:DescribeServices", "ecs:UpdateService"],
                resources=[
                    self.format_arn(
                        service="ecs",
                        resource="service",
                        resource_name=f"{oms_stack_name}-*/{BUILD_SERVICE_PREFIX}*",
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="PrescaleScalableTargets",
                actions=["application-autoscaling:RegisterScalableTarget"],
                resources=[
                    self.format_arn(
                        service="application-autoscaling",
                        resource="scalable-target",
                        resource_name="*",
                    )
                ],
                conditions={
                    "StringEquals": {
                        "application-autoscaling:service-namespace": "ecs",
                        "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
                    }
                },
            ),
            iam.PolicyStatement(
                sid="PrescaleReadScalableTargets",
                # A Describe action with no resource-level permissions: only '*' exists.
                actions=["application-autoscaling:DescribeScalableTargets"],
                resources=["*"],
            ),
        ]
        if not production:
            statements.append(
                iam.PolicyStatement(
                    sid="SmokeCanaryOrder",
                    actions=["sqs:SendMessage"],
                    resources=[self.format_arn(service="sqs", resource=f"{oms_stack_name}-*")],
                )
            )
        policy = iam.ManagedPolicy(self, "DeployPolicy", statements=statements)
        self.role.add_managed_policy(policy)
        acknowledge(
            policy,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and application-autoscaling:DescribeScalableTargets exist "
            "only with Resource '*'.",
        )
        # Physical names CloudFormation generates for the OMS stack's resources: known only
        # after its creation, so the grants name the stack's prefix (that stack only).
        arn = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
        for service, resource in (
            ("cloudformation", f"stack/{oms_stack_name}/*"),
            ("ecr", f"repository/{oms_stack_name.lower()}-workersbuildimages*"),
            ("lambda", f"function:{oms_stack_name}-*"),
            ("ecs", f"service/{oms_stack_name}-*/*"),
            ("ecs", f"service/{oms_stack_name}-*/{BUILD_SERVICE_PREFIX}*"),
            ("application-autoscaling", "scalable-target/*"),
            ("ecs", f"task-definition/{family_name(oms_stack_name)}:*"),
            ("ecs", f"task/{oms_stack_name}-*/*"),
            ("sqs", f"{oms_stack_name}-*"),
        ):
            acknowledge(
                policy,
                f"IAM5[Resource::{arn.format(service, resource)}]",
                "Generated names of the OMS stack's resources, limited to that stack's prefix.",
            )
        acknowledge(
            policy,
            f"IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/{oms_stack_name}-ReplayGate*]",
            "The replay gate's task and execution roles (generated names under the stack's "
            "ReplayGate prefix), passed to ECS tasks only.",
        )
        cdk.CfnOutput(self, "DeployRoleArn", value=self.role.role_arn)

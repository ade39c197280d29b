"""The CDK app (`cdk.json`: `python -m infra.app`): one stack, the AwsSolutions checks on top.

The stack is environment-agnostic (no account or region baked in, no lookups), so `cdk synth`
runs offline without credentials; `cdk deploy` picks the account and region of the profile.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk

from infra.config import DeployConfig
from infra.github_oidc import GithubDeployStack
from infra.nag import register_checks
from infra.stack import OmsStack

PROJECT_DIR = Path(__file__).resolve().parent.parent
# CDK's own switch (tests pass it to App(context=...)); the CLI refuses `-c aws:...` keys.
BUNDLING_STACKS = "aws:cdk:bundling-stacks"
# `cdk synth -c skipLambdaBundling=true`: check the template without running pip (offline).
# The Lambda asset is then not built: never deploy such an assembly.
SKIP_BUNDLING = "skipLambdaBundling"


def build(app: cdk.App) -> OmsStack:
    """Add the stack, configured from the app's context, and the nag checks to `app`."""
    if str(app.node.try_get_context(SKIP_BUNDLING)).lower() == "true":
        app.node.set_context(BUNDLING_STACKS, [])
    config = DeployConfig.from_context(app.node.try_get_context)
    stack = OmsStack(
        app,
        config.stack_name,
        config=config,
        project_dir=PROJECT_DIR,
        description="OMS on Temporal: SQS intake, starter Lambda, Fargate workers, DynamoDB, SES",
    )
    # Every taggable resource: cost allocation and ownership at a glance.
    for key, value in {"Project": "oms", "Stage": config.stage, "ManagedBy": "cdk"}.items():
        cdk.Tags.of(stack).add(key, value)
    repository = app.node.try_get_context("githubRepository")
    if repository:
        # The deploy role of the pipeline (docs/GITHUB_OIDC.md): its own small stack, deployed
        # once by a person (`cdk deploy OmsGithubDeploy -c githubRepository=OWNER/REPO -c
        # temporalDeploySecret=ARN`).
        GithubDeployStack(
            app,
            "OmsGithubDeploy",
            repository=str(repository),
            oms_stack_name=config.stack_name,
            temporal_deploy_secret=str(app.node.try_get_context("temporalDeploySecret") or ""),
            production=config.stage == "production",
            description="GitHub Actions OIDC deploy role for OMS on Temporal",
        )
    register_checks(app)
    return stack


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()

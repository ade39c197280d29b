"""The connection to Temporal Cloud: address, namespace and the credentials secret."""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import TemporalAuth

# Environment variable (Temporal's standard env config, read by `temporalio.envconfig`) ->
# JSON key in the Secrets Manager secret, per authentication method.
SECRET_KEYS: Final[dict[str, dict[str, str]]] = {
    "api-key": {"TEMPORAL_API_KEY": "apiKey"},
    "mtls": {"TEMPORAL_TLS_CLIENT_CERT_DATA": "tlsCert", "TEMPORAL_TLS_CLIENT_KEY_DATA": "tlsKey"},
}


class TemporalConnection(Construct):
    """Imports the existing secret (the stack never creates or sees the credentials) and hands
    out the environment and secrets the worker and the starter need."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        address: str,
        namespace: str,
        auth: TemporalAuth,
        secret: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.address = address
        self.namespace = namespace
        self.auth = auth
        # By complete ARN only (DeployConfig checks the form): ECS then injects from exactly
        # the ARN that IAM grants. A name gives ECS a partial ARN while the grant says
        # `name-??????` (aws-cdk #24142, #18555): tasks fail with AccessDenied at start.
        self.secret = secretsmanager.Secret.from_secret_complete_arn(self, "Secret", secret)

    @property
    def environment(self) -> dict[str, str]:
        """Plain (non-secret) connection settings."""
        return {"TEMPORAL_ADDRESS": self.address, "TEMPORAL_NAMESPACE": self.namespace}

    def container_secrets(self) -> dict[str, ecs.Secret]:
        """Credentials injected by ECS from the secret's JSON keys, never as plain env."""
        return {
            name: ecs.Secret.from_secrets_manager(self.secret, field=key)
            for name, key in SECRET_KEYS[self.auth].items()
        }

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """GetSecretValue only (what Powertools' get_secret calls); `Secret.grant_read` would
        add DescribeSecret, which no process calls."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["secretsmanager:GetSecretValue"],
            resource_arns=[self.secret.secret_arn],
        )

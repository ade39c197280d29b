"""The KMS key that encrypts every payload the service writes to Temporal (CONTRACT.md §6c)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from oms.codec.keys import ENCRYPTION_CONTEXT

_GENERATE = "kms:GenerateDataKey"
_DECRYPT = "kms:Decrypt"


class PayloadKey(Construct):
    """A symmetric key with yearly automatic rotation, retained when the stack is deleted:
    workflow histories at Temporal stay encrypted under it for their whole retention, and
    without the key they can never be read again.

    Grants name the exact actions and require the codec's encryption context, so the roles can
    use the key only for payload data keys.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="OMS: envelope encryption of Temporal payloads (customer data)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def grant_encrypt_decrypt(self, grantee: iam.IGrantable) -> None:
        """Workers: seal results and open inputs."""
        self._grant(grantee, _GENERATE, _DECRYPT)

    def grant_decrypt(self, grantee: iam.IGrantable) -> None:
        """The in-account replay gate: opens recorded payloads, never seals one."""
        self._grant(grantee, _DECRYPT)

    def grant_encrypt(self, grantee: iam.IGrantable) -> None:
        """The starter: seals workflow inputs, never reads a payload."""
        self._grant(grantee, _GENERATE)

    def _grant(self, grantee: iam.IGrantable, *actions: str) -> None:
        conditions = {
            "StringEquals": {
                f"kms:EncryptionContext:{name}": value for name, value in ENCRYPTION_CONTEXT.items()
            }
        }
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(actions), resources=[self.key.key_arn], conditions=conditions
            )
        )

"""Email: the SES sender identity and a configuration set for the customer emails."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from constructs import Construct


class Email(Construct):
    """Verifies the sender (a single address, or a whole domain with Easy DKIM) and creates a
    configuration set that suppresses bounced and complaining recipients."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sender_email: str,
        sender_domain: str | None,
        test_recipients: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.sender_email = sender_email
        self.test_recipients = tuple(test_recipients)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        identity = (
            ses.Identity.domain(sender_domain)
            if sender_domain
            else ses.Identity.email(sender_email)
        )
        self.identity = ses.EmailIdentity(
            self, "Identity", identity=identity, configuration_set=self.configuration_set
        )
        if sender_domain:
            # Easy DKIM: three CNAMEs to publish in the domain's DNS before SES verifies it.
            for n in (1, 2, 3):
                name = getattr(self.identity, f"dkim_dns_token_name{n}")
                value = getattr(self.identity, f"dkim_dns_token_value{n}")
                CfnOutput(self, f"DkimRecord{n}", value=f"{name} CNAME {value}")

    @property
    def configuration_set_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )

    def recipient_identity_arns(self) -> list[str]:
        """SES sandbox: the test recipients' identities (verified by hand, docs/DEPLOY.md §5).
        In the sandbox SES authorises a send against the recipient's identity as well."""
        stack = Stack.of(self)
        return [
            stack.format_arn(service="ses", resource="identity", resource_name=address)
            for address in self.test_recipients
        ]

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        """Send as this identity through this configuration set only (plus, in the sandbox,
        to the listed test recipients): SES authorises a send against each of these
        resources, so their ARNs, and nothing else, are named."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            # SESv2 SendEmail with Simple content (oms.mail.mailer): no raw MIME is sent.
            actions=["ses:SendEmail"],
            resource_arns=[
                self.identity.email_identity_arn,
                self.configuration_set_arn,
                *self.recipient_identity_arns(),
            ],
        )

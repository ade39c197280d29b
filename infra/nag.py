"""cdk-nag 3 wiring: the AwsSolutions pack as a CDK validation plugin, and acknowledgements.

With cdk-nag 3 an unacknowledged finding makes synth fail, so every synth (including every
infra test) is a gate. Each acknowledgement names one rule or one finding and says why.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def register_checks(app: cdk.App) -> None:
    """Run the AwsSolutions rule pack over the whole app at synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge `rule` (e.g. `IAM5[Resource::*]`) on `scope` and everything below it.

    The id is qualified with the plugin name (`AwsSolutions::AwsSolutions-IAM5[...]`), the
    form CDK's validation report matches; a finding suffix must match exactly (no prefixes).
    """
    rule_id = f"{PACK}::{PACK}-{rule}"
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))

"""The one place where checkov findings on the synthesised template are accepted, each with
its reason. tests/infra/test_scanners.py runs checkov (pinned, in its own environment) and
fails on any finding not listed here, and on any entry here that no longer finds anything."""

from __future__ import annotations

from typing import Final

CHECKOV_VERSION: Final = "3.3.30"

CHECKOV_SKIPS: Final[dict[str, str]] = {
    "CKV_AWS_27": (
        "The queues use SSE-SQS (SqsManagedSseEnabled: encrypted at rest with SQS-owned keys), "
        "which this check does not recognise; a customer key would add KMS calls per message "
        "and a key policy for the event source for no access-control gain over IAM."
    ),
    "CKV_AWS_119": (
        "The tables are encrypted at rest with the AWS-managed DynamoDB key; a customer key "
        "costs $1/month per key plus requests and adds nothing IAM does not already scope."
    ),
    "CKV_AWS_158": (
        "CloudWatch Logs encrypts every log group at rest; the logs carry order ids, never "
        "personal data (CONTRACT.md §1), so a customer key would add cost and key policy only."
    ),
    "CKV_AWS_136": (
        "The worker build-images repository is encrypted at rest with ECR's AES-256 default; the "
        "images hold code and dependencies, no data, so a customer key would add cost only."
    ),
    "CKV_AWS_116": (
        "The starter and the events Lambda are invoked by SQS event sources: failed records go "
        "to their queue's DLQ (redrive policy); a function DLQ only applies to asynchronous "
        "invokes. The other function is CDK's custom-resource handler (default SG restriction)."
    ),
    "CKV_AWS_117": (
        "Outside a VPC on purpose: the starter and the events Lambda reach Temporal Cloud over "
        "TLS on the internet and AWS APIs over their public endpoints, so they need no NAT "
        "gateway (docs/DEPLOY.md, cost). CDK's custom-resource handler likewise calls only "
        "the EC2 API."
    ),
    "CKV_AWS_115": (
        "The starter's concurrency is bounded by the event source's MaximumConcurrency "
        "(starterConcurrency; the events Lambda's is fixed at 5). Reserved concurrency is "
        "opt-in (starterReservedConcurrency): a fresh account's quota can be 10, and reserving "
        "any of it fails the first deploy."
    ),
    "CKV_AWS_173": (
        "The Lambdas' environments hold names, URLs and the secret's ARN, no secret: Lambda "
        "encrypts it at rest with its service key; the credentials stay in Secrets Manager."
    ),
    "CKV_AWS_120": (
        "The events webhook is write-only (POST into SQS): every request must reach the queue, "
        "so a response cache would drop carrier events and costs per hour besides."
    ),
}

"""Refuse a deploy that would drop the worker builds of a versioned stack (`make deploy` runs it).

With Worker Versioning each live build has its own Fargate service, and orders are pinned to
the build that started them. A deploy synthesised without `workerBuilds` (a manual `make
deploy` after pipeline deploys) would replace all of them with one unversioned service: every
in-flight order would stall. So, once the deployed stack runs versioned builds (its
`WorkerBuilds` output), a deploy must name them, computed as the pipeline does:
`python -m oms.ops.rollout live-builds NEW_BUILD --existing <WorkerBuilds output>`.

    python -m infra.deploy_guard [CDK ARGS ...]     # exit 1 with the reason, else 0
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

DEFAULT_STACK = "OmsOnTemporal"


def context_value(args: Sequence[str], key: str) -> str | None:
    """The value of `-c key=value` / `--context key=value` in CDK CLI arguments."""
    for flag, value in zip(args, [*args[1:], ""], strict=False):
        if flag in ("-c", "--context") and value.startswith(f"{key}="):
            return value.split("=", 1)[1]
    return None


def deployed_builds(cloudformation: Any, stack: str) -> list[str] | None:
    """The deployed stack's `WorkerBuilds` output; None if the stack does not exist yet."""
    try:
        (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in found.get("Outputs", [])}
    return [b for b in outputs.get("WorkerBuilds", "").split(",") if b]


def check(args: Sequence[str], cloudformation: Any) -> str | None:
    """The reason to refuse this deploy, or None."""
    stack = context_value(args, "stackName") or DEFAULT_STACK
    builds = [b for b in (context_value(args, "workerBuilds") or "").split(",") if b]
    deployed = deployed_builds(cloudformation, stack)
    if not deployed:
        return None  # a first deploy, or still unversioned: nothing pinned to lose
    if not builds:
        return (
            f"{stack} runs versioned worker builds ({', '.join(deployed)}); a deploy without "
            "-c workerBuilds=... would remove them and strand their pinned orders. Compute them: "
            "python -m oms.ops.rollout live-builds NEW_BUILD --existing "
            f"{','.join(deployed)}"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    import boto3  # noqa: PLC0415 - only when run (tests pass a fake client)

    args = list(sys.argv[1:] if argv is None else argv)
    reason = check(args, boto3.client("cloudformation"))
    if reason:
        sys.stderr.write(f"refused: {reason}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

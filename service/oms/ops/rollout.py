"""The pipeline's Worker Versioning steps (deploy.yml; docs/DEPLOY.md, "Versioning").

    python -m oms.ops.rollout live-builds NEW_BUILD   # -> "new,draining,..." for workerBuilds
    python -m oms.ops.rollout wait NEW_BUILD          # until its workers poll the task queue

`live-builds`: the new build first, then every build still CURRENT, RAMPING or DRAINING (its
service must keep running; the previous current one is the rollback target). DRAINED and
INACTIVE builds are left out, so the next `cdk deploy` removes their services. Promote with
`oms versions promote`. Connection: Temporal's environment configuration, as everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from temporalio.client import Client

from oms.config import load_settings
from oms.ops.versions import list_versions, wait_for_pollers
from oms.temporal_client import connect

LIVE = ("CURRENT", "RAMPING", "DRAINING")


async def live_builds(client: Client, deployment: str, new_build: str) -> list[str]:
    versions = await list_versions(client, deployment)  # newest first
    return [new_build] + [
        v.buildId for v in versions if v.status in LIVE and v.buildId != new_build
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oms.ops.rollout", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("live-builds").add_argument("build_id")
    wait = commands.add_parser("wait")
    wait.add_argument("build_id")
    wait.add_argument("--within", type=float, default=600.0, help="seconds (default 600)")
    args = parser.parse_args(argv)
    settings = load_settings()

    async def run() -> str:
        client = await connect(settings)
        deployment = settings.worker_deployment
        if args.command == "live-builds":
            return ",".join(await live_builds(client, deployment, args.build_id))
        await wait_for_pollers(
            client, deployment, args.build_id, settings.task_queue, within=args.within
        )
        return f"build {args.build_id} polls {settings.task_queue}"

    sys.stdout.write(asyncio.run(run()) + "\n")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort at interpreter exit (sdk-python#300)

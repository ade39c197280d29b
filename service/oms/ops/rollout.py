"""The pipeline's Worker Versioning steps (deploy.yml; docs/DEPLOY.md, "Versioning").

    python -m oms.ops.rollout live-builds NEW_BUILD [--existing b2,b1]
    python -m oms.ops.rollout wait NEW_BUILD          # until its workers poll the task queue

`live-builds`: the new build first, then every build still CURRENT, RAMPING or DRAINING (its
service must keep running; the previous current one is the rollback target), united with the
build services the deployed stack has now (`--existing`, its `WorkerBuilds` output): a build
whose service exists is only dropped once Temporal says it is DRAINED or INACTIVE, so a build
deployed but not yet promoted (another run, a failed step) never loses its workers. The
pipeline computes it under the deploy lock (deploy.yml). Promote with `oms versions
promote`. Connection: Temporal's environment configuration, as everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from temporalio.client import Client

from oms.config import load_settings
from oms.ops.versions import VersionError, list_versions, wait_for_pollers
from oms.temporal_client import connect

LIVE = ("CURRENT", "RAMPING", "DRAINING")
GONE = ("DRAINED", "INACTIVE")
# As infra/config.py's MAX_LIVE_BUILDS: the stack refuses more.
MAX_LIVE_BUILDS = 4


def merge_live_builds(
    new_build: str, live: list[str], existing: list[str], *, drained: set[str]
) -> list[str]:
    """The new build, then Temporal's live builds, then every existing build service not known
    to be drained (in that order, without repeats). More than MAX_LIVE_BUILDS is an error: a
    person decides which build may go, the pipeline never drops one silently."""
    merged: list[str] = []
    for build in [new_build, *live, *existing]:
        if build not in merged and (build == new_build or build not in drained):
            merged.append(build)
    if len(merged) > MAX_LIVE_BUILDS:
        raise VersionError(
            f"{len(merged)} live builds ({', '.join(merged)}), at most {MAX_LIVE_BUILDS}: wait "
            "for a drain (`oms versions list`) or move its pinned orders (docs/RUNBOOK.md)"
        )
    return merged


async def live_builds(
    client: Client, deployment: str, new_build: str, existing: list[str] | None = None
) -> list[str]:
    versions = await list_versions(client, deployment)  # newest first
    live = [v.buildId for v in versions if v.status in LIVE]
    drained = {v.buildId for v in versions if v.status in GONE}
    return merge_live_builds(new_build, live, existing or [], drained=drained)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oms.ops.rollout", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    live = commands.add_parser("live-builds")
    live.add_argument("build_id")
    live.add_argument(
        "--existing", default="", help="the deployed stack's build services, comma-separated"
    )
    wait = commands.add_parser("wait")
    wait.add_argument("build_id")
    wait.add_argument("--within", type=float, default=600.0, help="seconds (default 600)")
    args = parser.parse_args(argv)
    settings = load_settings()

    async def run() -> str:
        client = await connect(settings)
        deployment = settings.worker_deployment
        if args.command == "live-builds":
            existing = [b for b in args.existing.split(",") if b.strip()]
            return ",".join(await live_builds(client, deployment, args.build_id, existing))
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

"""The pipeline's Worker Versioning steps (deploy.yml; docs/DEPLOY.md, "Versioning").

    python -m oms.ops.rollout live-builds NEW_BUILD [--existing b2,b1]
    python -m oms.ops.rollout wait NEW_BUILD          # until its workers poll the task queue
    python -m oms.ops.rollout current                 # the CURRENT build ("" when none)

`live-builds`: the new build first, then every build still CURRENT, RAMPING or DRAINING (its
service must keep running; the previous current one is the rollback target), united with the
build services the deployed stack has now (`--existing`, its `WorkerBuilds` output): a build
whose service exists is only dropped once Temporal says it is DRAINED or INACTIVE, so a build
deployed but not yet promoted (another run, a failed step) never loses its workers. The
pipeline computes it under the deploy lock (deploy.yml). Promote with `oms versions
promote`. Connection: Temporal's environment configuration, as everywhere.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from temporalio.client import Client

from oms.config import load_settings
from oms.entrypoint import run_app
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


async def current_build(client: Client, deployment: str) -> str:
    """The build new workflows start on now ("" before the first promote): what the new
    build is pre-scaled to match (infra/prescale.py)."""
    versions = await list_versions(client, deployment)
    return next((v.buildId for v in versions if v.status == "CURRENT"), "")


app = typer.Typer(add_completion=False, help=__doc__)


@app.command("live-builds")
def live_builds_command(
    build_id: str,
    existing: Annotated[
        str, typer.Option(help="the deployed stack's build services, comma-separated")
    ] = "",
) -> int:
    """The live builds, newest first, comma-separated (deploy.yml's plan job)."""
    settings = load_settings()

    async def run() -> str:
        client = await connect(settings)
        builds = [b for b in existing.split(",") if b.strip()]
        return ",".join(await live_builds(client, settings.worker_deployment, build_id, builds))

    sys.stdout.write(asyncio.run(run()) + "\n")
    return 0


@app.command("wait")
def wait_command(
    build_id: str,
    within: Annotated[float, typer.Option(help="seconds (default 600)")] = 600.0,
) -> int:
    """Wait until the build's workers poll the task queue."""
    settings = load_settings()

    async def run() -> str:
        client = await connect(settings)
        await wait_for_pollers(
            client, settings.worker_deployment, build_id, settings.task_queue, within=within
        )
        return f"build {build_id} polls {settings.task_queue}"

    sys.stdout.write(asyncio.run(run()) + "\n")
    return 0


@app.command("current")
def current_build_command() -> int:
    """The CURRENT build's id, or an empty line (deploy.yml's pre-scale step)."""
    settings = load_settings()

    async def run() -> str:
        client = await connect(settings)
        return await current_build(client, settings.worker_deployment)

    sys.stdout.write(asyncio.run(run()) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m oms.ops.rollout")


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort at interpreter exit (sdk-python#300)

"""Version safety without a server: promote refuses a build nobody polls for; the doctor
reports a live build without pollers; the live builds keep every service not known drained."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.deployment.v1 import (
    RoutingConfig,
    WorkerDeploymentInfo,
    WorkerDeploymentOptions,
    WorkerDeploymentVersion,
)
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.taskqueue.v1 import PollerInfo
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueResponse,
    DescribeWorkerDeploymentResponse,
)

from oms.ops.rollout import merge_live_builds
from oms.ops.versions import VersionError, promote

Status = WorkerDeploymentVersionStatus


class FakeService:
    """The three calls promote makes, answering from `versions` and `polling`."""

    def __init__(self, versions: dict[str, int], polling: set[str]) -> None:
        self.versions, self.polling = versions, polling
        self.promoted: list[str] = []

    async def describe_worker_deployment(self, _request: Any) -> DescribeWorkerDeploymentResponse:
        summaries = [
            WorkerDeploymentInfo.WorkerDeploymentVersionSummary(
                deployment_version=WorkerDeploymentVersion(deployment_name="oms", build_id=b),
                status=status,  # type: ignore[arg-type]
            )
            for b, status in self.versions.items()
        ]
        return DescribeWorkerDeploymentResponse(
            worker_deployment_info=WorkerDeploymentInfo(
                version_summaries=summaries, routing_config=RoutingConfig()
            )
        )

    async def describe_task_queue(self, _request: Any) -> DescribeTaskQueueResponse:
        return DescribeTaskQueueResponse(
            pollers=[
                PollerInfo(
                    identity=f"worker-{b}",
                    deployment_options=WorkerDeploymentOptions(deployment_name="oms", build_id=b),
                )
                for b in self.polling
            ]
        )

    async def set_worker_deployment_current_version(self, request: Any) -> None:
        self.promoted.append(request.build_id)


class FakeClient:
    namespace = "default"

    def __init__(self, service: FakeService) -> None:
        self.workflow_service = service


async def test_promote_refuses_a_build_without_pollers() -> None:
    service = FakeService(
        {"old": Status.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT,
         "new": Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE},
        polling={"old"},
    )  # fmt: skip
    client: Any = FakeClient(service)

    with pytest.raises(VersionError, match="no worker of build new polls"):
        await promote(client, "oms", "new", task_queue="order-processing")
    assert service.promoted == []

    service.polling.add("new")
    await promote(client, "oms", "new", task_queue="order-processing")
    assert service.promoted == ["new"]


@pytest.mark.parametrize(
    ("temporal", "existing", "expected"),
    [
        # Temporal knows the old one is draining: kept.
        (["b2"], ["b1"], ["b3", "b2", "b1"]),
        # The race of issue 20: b2's service exists but Temporal does not list it as live yet
        # (its promote has not happened): kept, not deleted.
        ([], ["b2", "b1"], ["b3", "b2", "b1"]),
        # Drained: its service goes.
        ([], ["b1"], ["b3", "b1"]),
        ([], [], ["b3"]),
    ],
)
def test_live_builds_are_united_with_the_services_that_exist(
    temporal: list[str], existing: list[str], expected: list[str]
) -> None:
    drained = {"b0"}
    assert merge_live_builds("b3", temporal, existing, drained=drained) == expected


def test_a_drained_build_known_to_temporal_is_left_out() -> None:
    assert merge_live_builds("b3", ["b2"], ["b2", "b1"], drained={"b1"}) == ["b3", "b2"]


def test_too_many_live_builds_fail_loudly_rather_than_drop_one() -> None:
    with pytest.raises(VersionError, match="live builds"):
        merge_live_builds("b9", ["b8", "b7", "b6", "b5"], [], drained=set())

"""A manual deploy of a versioned stack without its live builds is refused (issue 20: a
`make deploy` after pipeline deploys dropped every versioned service)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.deploy_guard import check, context_value
from tests.infra.conftest import PROJECT_DIR


class FakeCloudFormation:
    class exceptions:  # noqa: N801 - boto3's shape
        ClientError = ClientError

    def __init__(self, builds: str | None) -> None:
        self.builds = builds

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803
        if self.builds is None:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationError",
                        "Message": f"Stack {StackName} does not exist",
                    }
                },
                "DescribeStacks",
            )
        return {
            "Stacks": [{"Outputs": [{"OutputKey": "WorkerBuilds", "OutputValue": self.builds}]}]
        }


@pytest.mark.parametrize(
    ("deployed", "args", "refused"),
    [
        (None, [], False),  # first deploy
        ("", [], False),  # an unversioned stack stays unversioned
        ("b2,b1", [], True),  # the dangerous one
        ("b2,b1", ["-c", "temporalAddress=x:7233"], True),
        ("b2,b1", ["-c", "workerBuilds=b3,b2,b1"], False),
        ("b2,b1", ["--context", "workerBuilds=b3,b2"], False),
    ],
)
def test_an_unversioned_deploy_of_a_versioned_stack_is_refused(
    deployed: str | None, args: list[str], refused: bool
) -> None:
    reason = check(args, FakeCloudFormation(deployed))
    assert (reason is not None) == refused
    if reason:
        assert "live-builds" in reason
        assert "--existing b2,b1" in reason


def test_context_values_are_read_as_the_cdk_cli_takes_them() -> None:
    args = ["-c", "stackName=Oms2", "--context", "workerBuilds=a,b", "-c"]
    assert context_value(args, "stackName") == "Oms2"
    assert context_value(args, "workerBuilds") == "a,b"
    assert context_value(args, "alarmEmail") is None


def test_make_deploy_runs_the_guard_first() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    recipe = makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "infra.deploy_guard" in recipe
    assert recipe.index("infra.deploy_guard") < recipe.index("deploy --require-approval")

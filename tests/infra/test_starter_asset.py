"""The starter Lambda asset really works: built by the deploy recipe, installed into a clean
directory, imported by a bare Python 3.13 and run on an SQS event against the local stack.

The deployed asset holds manylinux *aarch64* wheels, which cannot be imported on an x86_64
machine; the import test therefore builds the same recipe (`build_starter_asset`, the function
CDK's bundling calls) for this machine's platform. The aarch64 asset itself is checked for
what can be checked without running it: platform of every binary, bytecode version, size.
"""

from __future__ import annotations

import asyncio
import json
import platform
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infra.starter_asset import LAMBDA_PLATFORM, build_starter_asset, find_python
from oms.local.demo_orders import order_body
from oms.ops.dlq import list_dead_letters
from oms.orders.contract import order_workflow_id
from tests.conftest import process_env
from tests.starter.events import event, record

if TYPE_CHECKING:
    from temporalio.testing import WorkflowEnvironment

    from oms.aws import AwsClients
    from oms.config import Settings
    from oms.resources import QueueUrls

PYTHON_313 = find_python("3.13")
HOST_PLATFORM = f"manylinux2014_{platform.machine()}"
# The goal was 25 MiB before payload encryption; the codec's `cryptography` (its Rust
# binding alone is ~4 MiB zipped) is what the starter needs to encrypt every order it starts.
ZIPPED_LIMIT = 28 * 1024 * 1024
ELF_MACHINE_AARCH64 = 183  # e_machine in the ELF header

needs_313 = pytest.mark.skipif(PYTHON_313 is None, reason="no Python 3.13 on this machine")

# Runs in a bare interpreter (-I -S: no site-packages, no PYTHON* variables): only the
# standard library and the asset directory are importable, as in Lambda's /var/task.
PROBE = """
import json, os, sys, types
sys.path.insert(0, sys.argv[1])
import oms.intake.starter as starter
assert starter.__file__.startswith(sys.argv[1]), starter.__file__
context = types.SimpleNamespace(
    function_name="oms-starter", function_version="$LATEST", memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:oms-starter",
    aws_request_id="req-1", log_group_name="/aws/lambda/oms-starter", log_stream_name="s",
)
response = starter.lambda_handler(json.loads(sys.stdin.read()), context)
print("RESPONSE " + json.dumps(response), flush=True)
os._exit(0)
"""


@pytest.fixture(scope="session")
def host_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("starter-asset-host")
    assert build_starter_asset(out, platform=HOST_PLATFORM, compile_with=PYTHON_313)
    return out


@pytest.fixture(scope="session")
def lambda_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("starter-asset-aarch64")
    assert build_starter_asset(out, platform=LAMBDA_PLATFORM, compile_with=PYTHON_313)
    return out


def zipped_size(directory: Path, target: Path) -> int:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory))
    return target.stat().st_size


@needs_313
async def test_the_installed_asset_starts_workflows_and_dead_letters_on_the_local_stack(
    host_asset: Path,
    dev_env: WorkflowEnvironment,
    dev_address: str,
    moto_endpoint: str,
    clients: AwsClients,
    queues: QueueUrls,
    settings: Settings,
) -> None:
    # Given: the asset's handler, configured by environment as Lambda would be
    tag = uuid.uuid4().hex[:8]
    good = order_body(f"ASSET-{tag}")
    bad = f"{{not json {tag}"
    env = process_env(
        moto_endpoint,
        dev_address,
        settings,
        OMS_TASK_QUEUE="starter-asset-tests",
        OMS_DLQ=queues.dlq,
        OMS_LOG_FORMAT="json",
    )

    # When: one SQS batch, a valid order and a message that is not JSON
    assert PYTHON_313 is not None
    done = await asyncio.to_thread(
        subprocess.run,
        [PYTHON_313, "-I", "-S", "-c", PROBE, str(host_asset)],
        input=json.dumps(event(record(good), record(bad))),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then: nothing to retry, the workflow exists, the bad message is dead-lettered
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESPONSE ")]
    assert json.loads(line.removeprefix("RESPONSE ")) == {"batchItemFailures": []}
    handle = dev_env.client.get_workflow_handle(order_workflow_id(good["orderId"]))
    description = await handle.describe()
    assert description.task_queue == "starter-asset-tests"
    letters = list_dead_letters(clients.sqs, queues.dlq, limit=1000)
    assert [d.kind for d in letters if tag in d.body] == ["invalid"]


@needs_313
def test_the_lambda_asset_is_aarch64_python_313_and_small(
    lambda_asset: Path, tmp_path: Path
) -> None:
    binaries = [p for p in lambda_asset.rglob("*.so") if p.is_file()]
    machines = {int.from_bytes(p.read_bytes()[18:20], "little") for p in binaries}
    bytecode = {p.name.split(".")[-2] for p in lambda_asset.rglob("*.pyc")}

    assert binaries
    assert machines == {ELF_MACHINE_AARCH64}
    assert bytecode == {"cpython-313"}
    assert not (lambda_asset / "oms" / "local").exists()  # the local stack stays out
    assert not (lambda_asset / "rich").exists()  # so does the CLI's rendering
    size = zipped_size(lambda_asset, tmp_path / "asset.zip")
    assert size <= ZIPPED_LIMIT, f"{size / 2**20:.1f} MiB zipped"

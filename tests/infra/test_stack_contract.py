"""Contract: what the stack tells the processes is what the service's settings read.

The `OMS_*` variables set on the worker task and the starter Lambda must load through
`oms.config.load_settings()`, and each name must be a real Settings field (Settings ignores
unknown `OMS_*` names, so a typo would otherwise silently fall back to a local default).
The Temporal variables must load through `temporalio.envconfig`, as the worker loads them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest
from temporalio.envconfig import ClientConfig

from oms.config import ENV_PREFIX, Settings, load_settings

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

# What CloudFormation resolves each reference to at deploy time, in a plausible shape.
DEPLOYED_VALUES = {
    "OMS_INVENTORY_TABLE": "OmsOnTemporal-StorageInventoryTable293333F3-1X2Y3Z",
    "OMS_ORDERS_TABLE": "OmsOnTemporal-StorageOrdersTableD07F29D9-4A5B6C",
    "OMS_SES_CONFIGURATION_SET": "EmailConfigurationSet6A762543-AbCdEf",
    "OMS_INTAKE_QUEUE": "https://sqs.eu-west-1.amazonaws.com/123456789012/OmsOnTemporal-IntakeQueue",
    "OMS_DLQ": "https://sqs.eu-west-1.amazonaws.com/123456789012/OmsOnTemporal-IntakeDLQ",
    "OMS_PAYLOAD_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-12345678",
}


def task_environment(synth: Synth) -> dict[str, Any]:
    _, task = synth.worker_task()
    (container,) = task["ContainerDefinitions"]
    return {e["Name"]: e["Value"] for e in container["Environment"]}


def lambda_environment(synth: Synth) -> dict[str, Any]:
    _, function = synth.starter()
    return dict(function["Environment"]["Variables"])


ENVIRONMENTS = {"worker": task_environment, "starter": lambda_environment}


def deployed(env: dict[str, Any]) -> dict[str, str]:
    """The environment as the process sees it: references replaced by deployed values."""
    resolved = {}
    for name, value in env.items():
        if isinstance(value, str):
            resolved[name] = value
        elif name in DEPLOYED_VALUES:
            resolved[name] = DEPLOYED_VALUES[name]
        elif name == "AWS_REGION":
            resolved[name] = "eu-west-1"
        else:
            pytest.fail(f"{name} is a CloudFormation reference; add a deployed value for it")
    return resolved


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No OMS_* or TEMPORAL_* from the developer's shell leaks into the check."""
    for name in list(os.environ):
        if name.startswith((ENV_PREFIX, "TEMPORAL_")):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("process", sorted(ENVIRONMENTS))
def test_every_oms_variable_is_a_settings_field(synth: Synth, process: str) -> None:
    fields = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}

    names = {n for n in ENVIRONMENTS[process](synth) if n.startswith(ENV_PREFIX)}

    assert names, "the stack sets no OMS_* variable at all"
    assert names - fields == set()


@pytest.mark.parametrize("process", sorted(ENVIRONMENTS))
def test_the_environment_loads_into_settings(
    synth: Synth, process: str, clean_environ: pytest.MonkeyPatch
) -> None:
    env = deployed(ENVIRONMENTS[process](synth))
    for name, value in env.items():
        clean_environ.setenv(name, value)

    settings = load_settings()  # raises SettingsError naming a bad variable

    # Every OMS_* value set was read into its field (not a default).
    for name, value in env.items():
        field = name.removeprefix(ENV_PREFIX).lower()
        if name.startswith(ENV_PREFIX) and field in Settings.model_fields:
            read = getattr(settings, field)
            assert read == type(read)(value), name


def test_the_worker_drain_fits_in_the_container_stop_timeout(
    synth: Synth, clean_environ: pytest.MonkeyPatch
) -> None:
    _, task = synth.worker_task()
    for name, value in deployed(task_environment(synth)).items():
        clean_environ.setenv(name, value)

    settings = load_settings()

    stop_timeout = task["ContainerDefinitions"][0]["StopTimeout"]
    assert settings.graceful_shutdown_seconds + 10 <= stop_timeout


def test_the_worker_connects_with_temporals_env_config(synth: Synth) -> None:
    # Given: the task's plain environment plus the secrets ECS injects at start
    _, task = synth.worker_task()
    env = deployed(task_environment(synth))
    injected = {s["Name"]: "injected-by-ecs" for s in task["ContainerDefinitions"][0]["Secrets"]}

    config = ClientConfig.load_client_connect_config(
        disable_file=True, override_env_vars={**env, **injected}
    )

    assert config["target_host"] == "oms-prod.a1b2c.tmprl.cloud:7233"
    assert config["namespace"] == "oms-prod.a1b2c"
    assert config["api_key"] == "injected-by-ecs"
    assert config["tls"]  # API keys imply TLS

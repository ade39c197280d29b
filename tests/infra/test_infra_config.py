"""DeployConfig: context parsing and validation (pure Python, no synth)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import MAX_STOP_TIMEOUT_SECONDS, ConfigError, DeployConfig, context_key


def from_context(**context: Any) -> DeployConfig:
    return DeployConfig.from_context(context.get)


def test_defaults_synthesise_without_any_context() -> None:
    config = from_context()

    assert config.temporal_auth == "api-key"
    assert config.task_queue == "order-processing"
    assert config.worker_min_count <= config.worker_count <= config.worker_max_count
    assert config.stop_timeout_seconds > config.worker_drain_seconds
    assert config.queue_visibility_timeout_seconds >= 6 * config.starter_timeout_seconds


def test_production_is_the_default_and_keeps_two_workers() -> None:
    config = from_context()

    assert config.stage == "production"
    assert config.worker_min_count == 2


def test_development_is_an_explicit_cheaper_choice_that_explicit_keys_still_override() -> None:
    config = from_context(stage="development")
    tuned = from_context(stage="development", workerCount="3", logRetentionDays=30)

    assert (config.worker_count, config.worker_min_count, config.log_retention_days) == (1, 1, 7)
    assert config.nat_gateways == 0  # public subnets, no NAT gateway
    assert (tuned.worker_count, tuned.worker_min_count, tuned.log_retention_days) == (3, 1, 30)


def test_the_temporal_secret_is_taken_by_complete_arn_only() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal-AbCdEf"

    assert from_context(temporalSecret=arn).temporal_secret == arn
    with pytest.raises(ConfigError, match="complete ARN"):
        from_context(temporalSecret="oms/temporal")


def test_context_keys_are_camel_case_field_names() -> None:
    keys = {context_key(name) for name in DeployConfig.model_fields}

    assert {"temporalAddress", "temporalSecret", "workerMemoryMiB", "vpcId"} <= keys
    assert all("_" not in key for key in keys)


def test_command_line_strings_are_coerced() -> None:
    # Given: values as `cdk synth -c key=value` passes them (all strings)
    config = from_context(
        workerCount="3",
        starterReservedConcurrency="20",
        vpcId="vpc-0123456789abcdef0",
        vpcPrivateSubnetIds="subnet-0123abcd, subnet-4567cdef",
        vpcAvailabilityZones="eu-west-1a,eu-west-1b",
        temporalAuth="mtls",
    )

    assert config.worker_count == 3
    assert config.starter_reserved_concurrency == 20
    assert config.vpc_private_subnet_ids == ("subnet-0123abcd", "subnet-4567cdef")
    assert config.vpc_availability_zones == ("eu-west-1a", "eu-west-1b")
    assert config.temporal_auth == "mtls"


def test_json_lists_from_cdk_json_are_accepted() -> None:
    config = from_context(
        vpcId="vpc-0123abcd",
        vpcPrivateSubnetIds=["subnet-0123abcd"],
        vpcAvailabilityZones=["eu-west-1a"],
    )

    assert config.vpc_private_subnet_ids == ("subnet-0123abcd",)


@pytest.mark.parametrize("drain", [0, 30, 90])
def test_stop_timeout_leaves_room_for_the_drain_within_fargates_cap(drain: int) -> None:
    config = from_context(workerDrainSeconds=drain)

    assert config.worker_drain_seconds + 20 <= config.stop_timeout_seconds
    assert config.stop_timeout_seconds <= MAX_STOP_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"temporalAuth": "password"}, "temporalAuth"),
        ({"temporalAddress": "no-port.tmprl.cloud"}, "temporalAddress"),
        ({"senderEmail": "not-an-address"}, "senderEmail"),
        ({"senderDomain": "other.example.com"}, "senderEmail"),
        ({"temporalSecret": "oms/temporal"}, "temporalSecret"),
        (
            {"temporalSecret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oms/temporal"},
            "temporalSecret",
        ),
        ({"stage": "staging"}, "stage"),
        ({"natGateways": 0}, "natGateways"),
        ({"natGateways": 4}, "natGateways"),
        ({"workerMinCount": 1, "workerCount": 1}, "workerMinCount"),
        ({"sesTestRecipients": "qa@example.com,nobody"}, "sesTestRecipients"),
        ({"workerCount": "0"}, "workerCount"),
        ({"workerMinCount": 3, "workerCount": 2}, "workerCount"),
        ({"stage": "development", "workerCount": 0}, "workerCount"),
        ({"workerCpu": 512, "workerMemoryMiB": 512}, "workerMemoryMiB"),
        ({"workerDrainSeconds": 100}, "workerDrainSeconds"),
        ({"starterBatchSize": 11}, "starterBatchSize"),
        ({"starterConcurrency": 1}, "starterConcurrency"),
        ({"starterReservedConcurrency": 2}, "starterReservedConcurrency"),
        ({"starterTimeoutSeconds": 900}, "starterTimeoutSeconds"),
        ({"vpcId": "vpc-0123abcd"}, "vpcId"),
        ({"vpcId": "my-vpc", "vpcPrivateSubnetIds": "subnet-0123abcd"}, "vpcId"),
        (
            {
                "vpcId": "vpc-0123abcd",
                "vpcPrivateSubnetIds": "subnet-a",
                "vpcAvailabilityZones": "eu-west-1a",
            },
            "vpcPrivateSubnetIds",
        ),
        (
            {
                "vpcId": "vpc-0123abcd",
                "vpcPrivateSubnetIds": "subnet-0123abcd",
                "vpcAvailabilityZones": "west",
            },
            "vpcAvailabilityZones",
        ),
        (
            {
                "vpcId": "vpc-0123abcd",
                "vpcPrivateSubnetIds": "subnet-0123abcd,subnet-4567cdef,subnet-89abcdef",
                "vpcAvailabilityZones": "eu-west-1a,eu-west-1b",
            },
            "vpcPrivateSubnetIds",
        ),
        ({"vpcPrivateSubnetIds": "subnet-0123abcd"}, "vpcId"),
        ({"logRetentionDays": 31}, "logRetentionDays"),
        ({"alarmEmail": "oncall"}, "alarmEmail"),
        ({"workerCount": "two"}, "workerCount"),
        ({"workerCount": True}, "workerCount"),
        ({"attentionAfterSeconds": "0"}, "attentionAfterSeconds"),
        ({"returnWindowDays": "a month"}, "returnWindowDays"),
        ({"returnParcelDays": 181}, "returnParcelDays"),
    ],
)
def test_a_wrong_value_fails_naming_the_context_key(context: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^context {key}: ") as failure:
        from_context(**context)
    # One line a person can act on, not pydantic's multi-line report.
    assert "\n" not in str(failure.value)


def test_the_workflow_shaping_windows_come_from_context() -> None:
    config = from_context(attentionAfterSeconds="600", returnWindowDays=60, returnParcelDays="21")

    assert (config.attention_after_seconds, config.return_window_days) == (600, 60)
    # Ledger records outlive a return opened on the last day of the window and its parcel wait.
    assert config.ledger_retention_days > 60 + 21

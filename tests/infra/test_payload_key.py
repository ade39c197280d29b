"""The payload key: rotated, retained, used by exactly the processes that need it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oms.codec.keys import ENCRYPTION_CONTEXT

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def key(synth: Synth) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, resource)
        for logical_id, resource in synth.of_type("AWS::KMS::Key").items()
        if logical_id.startswith("PayloadKey")
    ]
    return found


def kms_statements(synth: Synth, role_logical_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "kms:" in str(statement["Action"])
    ]


def role_of_workers(synth: Synth) -> str:
    _, task = synth.worker_task()
    role: str = task["TaskRoleArn"]["Fn::GetAtt"][0]
    return role


def role_of_starter(synth: Synth) -> str:
    _, function = synth.starter()
    role: str = function["Role"]["Fn::GetAtt"][0]
    return role


def test_the_key_rotates_and_outlives_the_stack(synth: Synth) -> None:
    _, resource = key(synth)

    assert resource["Properties"]["EnableKeyRotation"] is True
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_workers_encrypt_and_decrypt_the_starter_only_encrypts(synth: Synth) -> None:
    key_id, _ = key(synth)
    expected_condition = {
        "StringEquals": {f"kms:EncryptionContext:{k}": v for k, v in ENCRYPTION_CONTEXT.items()}
    }

    for role, actions in (
        (role_of_workers(synth), {"kms:GenerateDataKey", "kms:Decrypt"}),
        (role_of_starter(synth), {"kms:GenerateDataKey"}),
    ):
        (statement,) = kms_statements(synth, role)
        granted = statement["Action"]
        assert set(granted if isinstance(granted, list) else [granted]) == actions, role
        assert statement["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert statement["Condition"] == expected_condition


def test_both_processes_are_told_the_key(synth: Synth) -> None:
    key_id, _ = key(synth)
    arn = {"Fn::GetAtt": [key_id, "Arn"]}
    _, task = synth.worker_task()
    (container,) = task["ContainerDefinitions"]
    worker_env = {e["Name"]: e["Value"] for e in container["Environment"]}
    _, function = synth.starter()

    assert worker_env["OMS_PAYLOAD_KEY_ID"] == arn
    assert function["Environment"]["Variables"]["OMS_PAYLOAD_KEY_ID"] == arn

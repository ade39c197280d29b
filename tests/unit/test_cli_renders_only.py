"""`oms` commands parse and render: every AWS call they lead to lives below `cli/`, where the
local demo, the Lambdas and the tests reuse it."""

from __future__ import annotations

import ast
from pathlib import Path

import boto3

CLI = Path(__file__).resolve().parents[2] / "service" / "oms" / "cli"
SERVICES = ("sqs", "dynamodb", "ses", "sesv2", "kms", "secretsmanager", "cloudwatch")


def aws_operations() -> set[str]:
    session = boto3.session.Session(region_name="us-east-1")
    names: set[str] = set()
    for service in SERVICES:
        names |= set(session.client(service).meta.method_to_api_mapping)
    return names


def aws_calls(source: str, operations: set[str]) -> list[str]:
    return [
        f"{node.lineno}: {node.func.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in operations
    ]


def test_no_cli_module_calls_an_aws_operation_itself() -> None:
    operations = aws_operations()
    found = {
        path.name: calls
        for path in sorted(CLI.glob("*.py"))
        if (calls := aws_calls(path.read_text(), operations))
    }
    assert found == {}


def test_the_check_sees_a_direct_send() -> None:
    assert aws_calls("sqs.send_message_batch(QueueUrl=u, Entries=[])", aws_operations())

"""The AWS calls a process's code can make, derived from the code (issue 20, step 7).

For a principal's entry module (the worker, a Lambda handler, a pipeline step): its import
closure within `oms` and `infra` (AST, every `import` and `from ... import` at any depth, plus
the parent packages Python runs), then in those modules every method call whose name is an
operation of a service the closure creates a client for (`client("sqs")`,
`session.client("kms", ...)`) and that passes no positional argument (boto3's client methods
take keywords only; `AESGCM(key).decrypt(nonce, ...)` does not count), plus
`get_paginator("scan")` / `get_waiter("table_exists")`. Each becomes its IAM action through
botocore's own service model (`method_to_api_mapping`, the signing name: SESv2's actions are
`ses:*`); a library function that calls AWS for us counts as its call (`LIBRARY_CALLS`).
DynamoDB transactions are authorised per item action, so `TransactWriteItems` becomes the item
actions whose request keys (`"Put"`, `"Update"`, `"ConditionCheck"`, `"Delete"`) the closure
builds.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import boto3

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICE_ROOT = PROJECT_ROOT / "service"
# Our packages and where each lives: `oms` (the service) and `infra` (the pipeline's steps,
# e.g. infra.smoke, infra.prescale; never the CDK constructs, which no process runs).
PACKAGE_ROOTS = {"oms": SERVICE_ROOT, "infra": PROJECT_ROOT}
# DynamoDB's transaction request keys -> the item action IAM checks for each.
TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "ConditionCheck": "ConditionCheckItem",
    "Delete": "DeleteItem",
}


# AWS calls made inside a library on our behalf, by the library function our code calls.
LIBRARY_CALLS = {
    # Powertools parameters (oms.temporal_client): GetSecretValue through its cached provider.
    "get_secret": "secretsmanager:GetSecretValue",
}


def module_file(name: str) -> Path | None:
    root = PACKAGE_ROOTS.get(name.split(".", maxsplit=1)[0])
    if root is None:
        return None
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(name: str, tree: ast.AST, is_package: bool) -> set[str]:
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            # `from oms.codec import keys` imports a submodule; a name is harmless to try.
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


@cache
def import_closure(entry: str) -> frozenset[str]:
    """Every module of ours importing `entry` runs (the parent packages included)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen or name.split(".")[0] not in PACKAGE_ROOTS:
            continue
        path = module_file(name)
        if path is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages
        tree = ast.parse(path.read_text())
        todo += sorted(_imports(name, tree, path.name == "__init__.py"))
    return frozenset(seen)


@dataclass(frozen=True)
class Service:
    name: str  # boto3's name: sesv2
    iam_prefix: str  # the signing name IAM uses: ses
    methods: dict[str, str]  # boto3 method -> API operation


@cache
def service(name: str) -> Service:
    # No request is made: a client is built offline from botocore's bundled model.
    client = boto3.client(
        name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    model = client.meta.service_model
    return Service(name, model.signing_name, dict(client.meta.method_to_api_mapping))


def _literal_strings(node: ast.Call) -> list[str]:
    return [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _trees(modules: frozenset[str]) -> list[ast.AST]:
    trees = []
    for name in sorted(modules):
        path = module_file(name)
        assert path is not None
        trees.append(ast.parse(path.read_text()))
    return trees


def client_services(modules: frozenset[str]) -> set[str]:
    """Services the modules create boto3 clients for (`....client("svc", ...)`)."""
    found: set[str] = set()
    for tree in _trees(modules):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "client"
            ):
                found |= set(_literal_strings(node)[:1])
    return found


FUNCTION = ast.FunctionDef | ast.AsyncFunctionDef
# Decorators of functions a Temporal worker calls (activities, workflow run/handlers): only a
# worker runs them, whatever else imports their modules.
FRAMEWORK_DECORATORS = ("activity", "workflow")


def _framework_called(function: ast.AST) -> bool:
    assert isinstance(function, FUNCTION)
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        while isinstance(target, ast.Attribute):
            target = target.value
        if isinstance(target, ast.Name) and target.id in FRAMEWORK_DECORATORS:
            return True
    return False


def _module_level(tree: ast.AST) -> list[ast.AST]:
    """The nodes that run at import: everything outside function bodies."""
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, FUNCTION):
            todo.extend(node.decorator_list)  # decorators run at import, bodies do not
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _referenced_names(nodes: Iterable[ast.AST]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


def reachable_code(entry: str, roots: Iterable[str], *, runs_activities: bool) -> list[ast.AST]:
    """Every AST node that may run in a process whose code is `entry`'s import closure and
    that calls the functions `roots`: module-level code, then (by name, transitively) every
    function a reached piece of code refers to. By name, not by type: a shared name reaches
    every function so named (more, never less). Activity and workflow functions are reached
    only where `runs_activities` (the worker): elsewhere they are imported, never run."""
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    reached: list[ast.AST] = []
    for name in sorted(import_closure(entry)):
        path = module_file(name)
        assert path is not None
        tree = ast.parse(path.read_text())
        reached += _module_level(tree)
        for node in ast.walk(tree):
            if isinstance(node, FUNCTION):
                if _framework_called(node) and not runs_activities:
                    continue
                functions.setdefault(node.name, []).append(node)
    todo = set(roots) | _referenced_names(reached)
    if runs_activities:
        todo |= {n for n, defs in functions.items() if any(map(_framework_called, defs))}
    done: set[str] = set()
    while todo:
        name = todo.pop()
        done.add(name)
        for function in functions.get(name, []):
            body = [n for stmt in function.body for n in ast.walk(stmt)]
            reached += body
            todo |= _referenced_names(body) - done
    return reached


def code_actions(nodes: list[ast.AST], services: list[Service]) -> set[str]:
    """The IAM actions of the AWS calls among `nodes`."""
    actions: set[str] = set()
    transact_keys: set[str] = set()
    # A client method is called (keywords only) or handed to a thread as a callable
    # (`to_thread(c.send_message, QueueUrl=...)`); a decorator such as `@workflow.query(...)`
    # or `AESGCM(key).decrypt(nonce, ...)` is neither.
    calls = [node for node in nodes if isinstance(node, ast.Call)]
    decorators = {
        id(d.func)
        for node in nodes
        if isinstance(node, FUNCTION | ast.ClassDef)
        for d in node.decorator_list
        if isinstance(d, ast.Call)
    }
    candidates = {id(c.func) for c in calls if not c.args} - decorators
    candidates |= {id(arg) for c in calls for arg in c.args}
    for node in nodes:
        if isinstance(node, ast.Dict):
            transact_keys |= {
                k.value
                for k in node.keys
                if isinstance(k, ast.Constant) and k.value in TRANSACT_ITEM_ACTIONS
            }
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in LIBRARY_CALLS
        ):
            actions.add(LIBRARY_CALLS[node.func.id])
        operations: list[str] = []
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get_paginator", "get_waiter")
            and _literal_strings(node)
        ):
            operation = _literal_strings(node)[0]
            if node.func.attr == "get_waiter":
                operation = _waiter_operation(services, operation)
            operations.append(operation)
        elif isinstance(node, ast.Attribute) and id(node) in candidates:
            operations.append(node.attr)
        for svc in services:
            for operation in operations:
                if operation in svc.methods:
                    actions.add(f"{svc.iam_prefix}:{svc.methods[operation]}")
    if "dynamodb:TransactWriteItems" in actions:
        # IAM authorises a transaction per item action, not as TransactWriteItems.
        actions.discard("dynamodb:TransactWriteItems")
        actions |= {f"dynamodb:{TRANSACT_ITEM_ACTIONS[k]}" for k in transact_keys}
    return actions


def aws_actions(entry: str, roots: Iterable[str], *, runs_activities: bool = False) -> set[str]:
    """The IAM actions of every AWS call the process can make (see the module docstring)."""
    services = [service(name) for name in sorted(client_services(import_closure(entry)))]
    return code_actions(reachable_code(entry, roots, runs_activities=runs_activities), services)


def _waiter_operation(services: list[Service], waiter: str) -> str:
    for svc in services:
        client = boto3.client(
            svc.name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        if waiter in client.waiter_names:
            operation: str = client.get_waiter(waiter).config.operation
            return next(m for m, api in svc.methods.items() if api == operation)
    return waiter


def workflow_cli_actions(workflow: str) -> set[str]:
    """The IAM actions of the `aws SERVICE OPERATION` commands a workflow file runs."""
    actions = {
        f"{svc}:{''.join(part.capitalize() for part in operation.split('-'))}"
        for svc, operation in re.findall(r"\baws (\w+) ([a-z-]+)", workflow)
    }
    # `aws ecr get-login-password` is the CLI's name for GetAuthorizationToken.
    return {a.replace("ecr:GetLoginPassword", "ecr:GetAuthorizationToken") for a in actions}

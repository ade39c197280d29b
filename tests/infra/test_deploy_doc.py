"""docs/DEPLOY.md §E to §G, as written, checked without an AWS account (issue 20, step 9).

The commands of those sections are read from the doc and checked for their shape: the `make`
targets exist and the `-c` context of §E builds a valid DeployConfig; every `aws SERVICE
OPERATION --option` exists in botocore's model of that operation; the outputs named are the
stack's (the session's synth); the Python steps and the `oms` commands parse their arguments
with the real CLIs; §G's exports are the settings the CLI reads, including the payload key the
stack encrypts with. What is not done here: running §G's commands against the local stack.
"""

from __future__ import annotations

import re
import shlex

import botocore.session
import click
import pytest
import typer

from infra.config import DeployConfig, context_key
from infra.smoke import app as smoke_app
from oms.cli import app
from oms.config import ENV_PREFIX, Settings
from tests.infra.conftest import PROJECT_DIR, Synth

DOC = (PROJECT_DIR / "docs" / "DEPLOY.md").read_text()
SECTIONS = DOC[DOC.index("### E. Configure and deploy") : DOC.index("## GitHub Actions")]
# The AWS CLI's own options, not the operation's.
AWS_GLOBAL = {"--query", "--output", "--region", "--endpoint-url", "--profile"}


def commands(prefix: str) -> list[list[str]]:
    """Every command of the sections starting with `prefix` (code spans and fenced blocks),
    continuation lines joined and `<placeholders>` replaced by a word."""
    text = SECTIONS.replace("\\\n", " ")
    spans = re.findall(r"```bash\n(.*?)```", text, re.S) + re.findall(
        r"`([^`\n]+(?:\n[^`\n]+)?)`", text
    )
    found = []
    for span in spans:
        for raw in span.splitlines() if "\n" in span and "```" not in span else [span]:
            line = re.sub(r"<[^>]*>", "PLACEHOLDER", " ".join(raw.split()))
            if line.startswith(prefix):
                found.append(shlex.split(line))
    return found


def test_the_make_targets_exist_and_the_context_of_section_e_is_a_valid_config() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    makes = commands("make ")
    assert {m[1] for m in makes} >= {"deploy", "diff"}
    for make in makes:
        assert re.search(rf"^{make[1]}:", makefile, re.M), make
    (deploy,) = [m for m in makes if m[1] == "deploy" and any("-c" in a for a in m)]
    args = shlex.split(deploy[2].removeprefix("CDK_ARGS="))
    context = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-c")
    known = {context_key(name) for name in DeployConfig.model_fields}
    assert set(context) <= known, set(context) - known
    config = DeployConfig.from_context(context.get)  # raises ConfigError on a wrong value
    assert config.temporal_namespace == context["temporalNamespace"]


def test_every_aws_command_exists_with_its_options() -> None:
    session = botocore.session.get_session()
    found = commands("aws ")
    assert len(found) >= 2
    for command in found:
        _, service, operation, *rest = command
        model = session.get_service_model(service)
        name = "".join(part.capitalize() for part in operation.split("-"))
        assert name in model.operation_names, command
        members = model.operation_model(name).input_shape.members
        options = {"--" + re.sub(r"(?<!^)(?=[A-Z])", "-", member).lower() for member in members}
        used = {arg for arg in rest if arg.startswith("--")} - AWS_GLOBAL
        assert used <= options, (command, used - options)


def test_the_outputs_the_sections_name_are_the_stacks(synth: Synth) -> None:
    named = set(re.findall(r"`(\w+(?:Name|Url|Arn))`", SECTIONS)) | set(
        re.findall(r"<(\w+(?:Name|Url|Arn))>", SECTIONS)
    )
    assert {"WorkerClusterName", "InventoryTableName", "PayloadKeyArn"} <= named
    assert named <= set(synth.document["Outputs"]), named - set(synth.document["Outputs"])


def _parse(cli: click.Command, argv: list[str]) -> None:
    """Parse `argv` as the CLI would, down to the leaf command, without running it."""
    context = cli.make_context("cli", list(argv), resilient_parsing=False)
    while isinstance(cli, click.Group) and context.protected_args:
        name, sub, rest = cli.resolve_command(context, [*context.protected_args, *context.args])
        assert sub is not None, argv
        cli, context = sub, sub.make_context(name or "", rest, parent=context)


def test_the_python_steps_parse_as_written() -> None:
    steps = commands(".venv/bin/python -m infra.smoke")
    assert steps
    for step in steps:
        _parse(typer.main.get_command(smoke_app), step[3:])


def test_the_oms_commands_parse_as_written() -> None:
    cli = typer.main.get_command(app)
    found = commands("oms ")
    assert {tuple(c[:2]) for c in found} >= {("oms", "inventory"), ("oms", "submit")}
    for command in found:
        _parse(cli, command[1:])


def test_section_g_exports_what_the_cli_reads_and_the_payload_key() -> None:
    (export,) = commands("export ")
    names = {assignment.split("=", 1)[0] for assignment in export[1:]}
    settings = {ENV_PREFIX.upper() + name.upper() for name in Settings.model_fields}
    oms_names = {n for n in names if n.startswith("OMS_")}
    assert oms_names <= settings, oms_names - settings
    # The workers encrypt payloads with the stack's key: without it `oms status` cannot read
    # an order (issue 20, finding 8).
    assert "OMS_PAYLOAD_KEY_ID" in names


@pytest.mark.parametrize("sku", ["MUG-RED", "TEE-L-BLK"])
def test_section_g_stocks_every_sku_of_the_readme_order(sku: str) -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    assert f'"sku": "{sku}"' in readme
    assert ["oms", "inventory", "set", sku, "10"] in commands("oms ")

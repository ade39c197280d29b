"""The starter Lambda's code: built with pip on the host, no Docker, for any target platform.

The recipe, in order:
1. the locked runtime dependencies (`infra/locks/runtime.txt`, hashes required) as Linux wheels
   of the Lambda's platform and Python version, minus the distributions the handler never
   imports (the CLI's rendering, typing stubs);
2. the `oms` package from `service/`, minus what only the CLI and the local stack use;
3. package data the handler never reads pruned (pycountry's translations, temporalio's bundled
   Rust sources, botocore's models of services the starter never calls);
4. bytecode compiled by the runtime's Python version, `unchecked-hash` so the (read-only)
   Lambda file system never makes Python recompile at cold start.

`python -m infra.starter_asset OUT [--platform P]` builds it by hand (size and timing checks).
No CDK import: tests and the bench build the same recipe for this machine's platform.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from oms.entrypoint import run_app

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCK_FILE_PATH = Path("infra", "locks", "runtime.txt")
LOCK_FILE = PROJECT_DIR / LOCK_FILE_PATH
PYTHON_VERSION = "3.13"
LAMBDA_PLATFORM = "manylinux2014_aarch64"  # Lambda arm64 (Graviton), Amazon Linux 2023
# Distributions in the lock that the handler never imports.
NOT_IN_STARTER = frozenset(
    {
        "typer",
        "rich",
        "pygments",
        "markdown-it-py",
        "mdurl",
        "shellingham",
        "annotated-doc",
        "colorama",
        "types-protobuf",
    }
)
# Subpackages of `oms` for the CLI and the local stack (moto, the dev server) only.
OMS_NOT_IN_STARTER = ("cli", "local", "__main__.py")
# Directories (relative to the asset root) the handler never reads.
PRUNED = (
    "bin",
    "pycountry/locales",  # translations: the starter only reads the codes
    "pycountry/tests",
    "temporalio/bridge/sdk-core",  # the Rust sources of the compiled bridge
    # Powertools utilities the handler never imports (it uses logging, batch, data_classes,
    # and parameters for the Temporal secret).
    "aws_lambda_powertools/event_handler",
    *(
        f"aws_lambda_powertools/utilities/{name}"
        for name in (
            "auth_alpha",
            "circuit_breaker",
            "data_masking",
            "feature_flags",
            "idempotency",
            "kafka",
            "metadata",
            "streaming",
            "validation",
        )
    ),
)
# temporalio's optional integrations: the starter uses only the pydantic data converter.
TEMPORALIO_CONTRIB_KEPT = frozenset({"__init__.py", "pydantic.py", "pydantic"})
# botocore models kept: the services the starter's process creates clients for.
BOTOCORE_SERVICES = frozenset({"sqs", "secretsmanager", "kms", "dynamodb", "sesv2", "sts"})


class AssetError(RuntimeError):
    """The asset could not be built; the message has the failing command's output."""


def locked_requirements(lock: str, *, exclude: frozenset[str]) -> str:
    """The lock file without the blocks (requirement + hashes) of `exclude`d distributions."""
    blocks: list[str] = []
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        name = re.match(r"[A-Za-z0-9._-]+", block)
        if name is None or block.lstrip().startswith("#"):
            continue
        if _normalise(name.group(0)) not in exclude:
            blocks.append(block.rstrip())
    return "\n".join(blocks) + "\n"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_python(version: str = PYTHON_VERSION) -> str | None:
    """An interpreter of `version` on this machine (to compile bytecode the runtime accepts)."""
    candidates = [sys.executable, shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python")))
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _run(command: list[str]) -> None:
    result = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise AssetError(
            f"building the starter asset failed (exit {result.returncode}):\n"
            f"{' '.join(command)}\n{result.stderr[-4000:]}"
        )


def build_starter_asset(
    out_dir: Path,
    *,
    platform: str = LAMBDA_PLATFORM,
    python_version: str = PYTHON_VERSION,
    project_dir: Path = PROJECT_DIR,
    compile_with: str | None = None,
) -> bool:
    """Build the asset into `out_dir`; return whether bytecode was compiled (needs a Python
    `python_version` on this machine: `compile_with`, or one `find_python` finds)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = (project_dir / "infra" / "locks" / "runtime.txt").read_text()
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "starter.txt"
        requirements.write_text(locked_requirements(lock, exclude=NOT_IN_STARTER))
        _run(
            [
                sys.executable, "-m", "pip", "install",
                "--quiet", "--disable-pip-version-check", "--no-compile",
                "--no-deps", "--require-hashes", "--only-binary=:all:",
                "--platform", platform, "--implementation", "cp",
                "--python-version", python_version,
                "--target", str(out_dir), "-r", str(requirements),
            ]
        )  # fmt: skip
    shutil.copytree(
        project_dir / "service" / "oms",
        out_dir / "oms",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    for name in OMS_NOT_IN_STARTER:
        _remove(out_dir / "oms" / name)
    _prune(out_dir)
    python = compile_with or find_python(python_version)
    if python is None:
        return False
    _run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
          "-s", str(out_dir), "-p", "/var/task", str(out_dir)])  # fmt: skip
    return True


def starter_sources(project_dir: Path = PROJECT_DIR) -> list[Path]:
    """Every file the asset is built from: the recipe (this module), the lock, and the part of
    `oms` the asset keeps. Anything else in the repository cannot change the asset."""
    package = project_dir / "service" / "oms"
    skipped = {package / name for name in OMS_NOT_IN_STARTER}
    files = [
        path
        for path in package.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and not any(path == skip or skip in path.parents for skip in skipped)
    ]
    return sorted(
        [project_dir / "infra" / "starter_asset.py", project_dir / LOCK_FILE_PATH, *files]
    )


def starter_source_hash(project_dir: Path = PROJECT_DIR) -> str:
    """The asset's hash from its inputs only (relative path + content of each), so a commit
    that touches nothing the Lambdas run leaves both functions' code unchanged (no redeploy)."""
    digest = hashlib.sha256()
    for path in starter_sources(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _prune(out_dir: Path) -> None:
    for relative in PRUNED:
        _remove(out_dir / relative)
    contrib = out_dir / "temporalio" / "contrib"
    if contrib.is_dir():
        for entry in contrib.iterdir():
            if entry.name not in TEMPORALIO_CONTRIB_KEPT:
                _remove(entry)
    data = out_dir / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES:
                shutil.rmtree(service)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


app = typer.Typer(add_completion=False)


@app.command(help=__doc__.splitlines()[0])
def build(
    out_dir: Path,
    platform: Annotated[str, typer.Option(help="pip --platform of the wheels")] = LAMBDA_PLATFORM,
) -> int:
    compiled = build_starter_asset(out_dir, platform=platform)
    sys.stderr.write(f"starter asset in {out_dir} (bytecode: {compiled})\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, prog_name="python -m infra.starter_asset")


if __name__ == "__main__":
    sys.exit(main())

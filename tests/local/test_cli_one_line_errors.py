"""Every failure of `oms` is one `error:` line on stderr, never a usage box or a traceback;
exit 2 for bad input. `.oms/local.env` is read strictly: a bad file is an error naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oms.cli import run
from oms.local.stack import LocalStack


def oms(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEMPORAL_", "OMS_"))}
    return subprocess.run(
        [sys.executable, "-m", "oms", *args], cwd=cwd, env=env, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("list", "--limit", "0"), "Invalid value for '--limit'"),
        (("versions", "promote", "b1", "--ramp", "150"), "Invalid value for '--ramp'"),
        (("list", "--bogus"), "No such option: --bogus"),
        (("nosuch",), "No such command 'nosuch'"),
        (("cancel", "ORD-1"), "Missing option '--reason'"),
        (("dev", "--workers", "-1"), "Invalid value for '--workers'"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = oms(tmp_path, *args)

    assert result.returncode == 2
    line = one_error_line(result)
    assert says in line
    assert "--help" in line  # where to look


def _stack_file(tmp_path: Path, content: bytes) -> Path:
    (tmp_path / ".oms").mkdir()
    path = tmp_path / ".oms" / "local.env"
    path.write_bytes(content)
    return path


GOOD = b"TEMPORAL_ADDRESS=127.0.0.1:1\nAWS_ENDPOINT_URL=http://127.0.0.1:1\n"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xff\xfeTEMPORAL_ADDRESS=x\n", "is not UTF-8 text"),
        (GOOD + b"this is not a setting\n", "line 3 is not NAME=VALUE"),
        (b"AWS_ENDPOINT_URL=http://127.0.0.1:1\n", "does not name TEMPORAL_ADDRESS"),
        (b"# written by `oms dev` (pid 999999999); removed when it stops.\n" + GOOD,
         "is left over from an `oms dev` (pid 999999999) that is no longer running"),
    ],
)  # fmt: skip
def test_a_bad_local_env_is_one_line_naming_the_file(
    tmp_path: Path, content: bytes, says: str
) -> None:
    _stack_file(tmp_path, content)

    result = oms(tmp_path, "list")

    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith("error: .oms/local.env ")
    assert says in line


def test_a_stale_local_env_does_not_keep_oms_dev_from_starting(tmp_path: Path) -> None:
    _stack_file(tmp_path, b"# written by `oms dev` (pid 999999999); x\n" + GOOD)

    result = oms(tmp_path, "dev", "--help")

    assert result.returncode == 0
    assert "Start the local stack" in result.stdout


def test_an_unforeseen_failure_of_oms_dev_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(_stack: LocalStack) -> None:
        raise RuntimeError("build b1 is not a version of deployment oms")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(LocalStack, "start", broken)

    code = run(["dev", "--no-demo"])

    assert code == 1
    err = capfd.readouterr().err
    assert err.strip() == (
        "error: unexpected RuntimeError: build b1 is not a version of deployment oms "
        "(the local stack's logs: .oms/logs/)"
    )

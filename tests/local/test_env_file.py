"""`.oms/local.env` reads back as written, by `oms` and by a POSIX shell (`set -a; . FILE`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from oms.local.env_file import read_env_file, write_env_file

VALUES = {
    "TEMPORAL_ADDRESS": "127.0.0.1:7233",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "OMS_SENDER": "OMS Orders <orders@example.com>",
    "OMS_ODD": '$HOME; `not run` "quoted" \\ too',
}


def test_the_file_reads_back_the_same_in_oms_and_in_a_shell(tmp_path: Path) -> None:
    path = tmp_path / "local.env"
    write_env_file(path, VALUES, comment="test")

    assert read_env_file(path) == VALUES
    shell = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; set +a; printf "%s\\n" "$OMS_SENDER" "$OMS_ODD"'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert shell.stdout.splitlines() == [VALUES["OMS_SENDER"], VALUES["OMS_ODD"]]


def test_a_value_with_a_single_quote_reads_back_in_oms(tmp_path: Path) -> None:
    path = tmp_path / "local.env"
    values = {**VALUES, "OMS_ODD": 'it\'s \\ "x"'}
    write_env_file(path, values, comment="test")

    assert read_env_file(path) == values

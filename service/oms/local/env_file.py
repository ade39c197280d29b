"""`.oms/local.env`: written by `oms dev` when its stack is ready, removed when it stops, read
by every `oms` command (and by a shell, `set -a; . .oms/local.env; set +a`, for the `temporal`
and `aws` CLIs).

Read strictly: a file that is not UTF-8, has a line that is not `NAME=VALUE`, lacks the stack's
addresses, or was left by an `oms dev` that is no longer running is an error naming the file,
never a silent fall-back to default addresses.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from pathlib import Path

from dotenv.parser import parse_stream

from oms.local.errors import StackError

REQUIRED = ("TEMPORAL_ADDRESS", "AWS_ENDPOINT_URL")
_WRITER = re.compile(r"^# written by `oms dev` \(pid (\d+)\)")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def write_env_file(path: Path, values: dict[str, str], *, comment: str) -> None:
    """NAME=VALUE lines, values shell-quoted, so a POSIX shell can source the file too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# written by `oms dev` (pid {os.getpid()}); removed when it stops. {comment}"]
    lines += [f"{name}={_quoted(value)}" for name, value in sorted(values.items())]
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)  # never half-written for a reader in another terminal


def _quoted(value: str) -> str:
    """Single quotes read the same in python-dotenv and a POSIX shell; a value that holds one
    itself (no setting does) is double-quoted for dotenv, which a shell may read differently."""
    if "'" not in value:
        return shlex.quote(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bad(path: Path, why: str) -> StackError:
    return StackError(
        f"{path} {why}; it is written by `oms dev`: restart `oms dev`, or delete the file",
        exit_code=2,
    )


def read_env_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})") from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error or (binding.key is not None and not _NAME.match(binding.key)):
            raise _bad(path, f"line {line} is not NAME=VALUE")
        if binding.key is None:
            continue  # a comment or a blank line
        if binding.value is None:
            raise _bad(path, f"line {line} ({binding.key}) has no value")
        values[binding.key] = binding.value
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise _bad(path, f"does not name {', '.join(missing)}")
    writer = _WRITER.match(text)
    if writer and not _running(int(writer.group(1))):
        raise StackError(
            f"{path} is left over from an `oms dev` (pid {writer.group(1)}) that is no longer "
            "running: start `oms dev` again, or delete the file",
            exit_code=2,
        )
    return values


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True

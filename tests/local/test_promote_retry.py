"""Start-up promotes the workers' build as soon as the server has registered it: a promote
refused because the version is not registered yet is retried, within a deadline, then one
clear error (the `VersionError` traceback of issue 25)."""

from __future__ import annotations

from typing import Any

import pytest

from oms.config import Settings
from oms.local import readiness
from oms.local.errors import StackError
from oms.ops.versions import VersionError


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The server refuses the promote this many times (one-element list), then accepts."""
    left = [0]

    async def promote(*_: Any, **__: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise VersionError("build b1 is not a version of deployment oms (not polled yet)")

    async def nothing(*_: Any, **__: Any) -> None:
        return None

    monkeypatch.setattr(readiness, "promote", promote)
    monkeypatch.setattr(readiness, "wait_for_pollers", nothing)
    monkeypatch.setattr(readiness, "wait_until_routed", nothing)
    return left


async def test_a_promote_before_the_build_is_registered_is_retried(refusals: list[int]) -> None:
    refusals[0] = 3

    await readiness.promote_build(None, Settings(build_id="b1"), within=10)  # type: ignore[arg-type]

    assert refusals[0] == 0  # refused three times, then done


async def test_a_build_never_registered_is_one_clear_error(refusals: list[int]) -> None:
    refusals[0] = 10_000

    with pytest.raises(StackError) as raised:
        await readiness.promote_build(None, Settings(build_id="b1"), within=0.5)  # type: ignore[arg-type]

    message = str(raised.value)
    assert message.startswith("could not make build b1 current in Worker Deployment oms within")
    assert "not polled yet" in message

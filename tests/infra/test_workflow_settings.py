"""Issue 19: the settings that shape a workflow are set by the stack for the processes that
read them, from context, and the settings model reads them back as deployed."""

from __future__ import annotations

import pytest

from oms.config import load_settings
from tests.infra.conftest import Synth


def container_env(synth: Synth) -> dict[str, object]:
    _, task = synth.worker_task()
    return {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}


def test_the_starter_and_workers_get_the_windows_from_context(synth: Synth) -> None:
    _, function = synth.starter()
    starter = function["Environment"]["Variables"]
    workers = container_env(synth)

    # conftest's DEPLOY_CONTEXT: attentionAfterSeconds 900, returnWindowDays 45, parcel 21
    assert starter["OMS_ATTENTION_AFTER_SECONDS"] == "900"  # into every order's input
    assert workers["OMS_ATTENTION_AFTER_SECONDS"] == "900"  # deliveries started by workers
    assert (workers["OMS_RETURN_WINDOW_DAYS"], workers["OMS_RETURN_PARCEL_DAYS"]) == ("45", "21")
    # Both write the ledger: one retention, beyond the return window and the parcel wait.
    assert starter["OMS_LEDGER_RETENTION_DAYS"] == workers["OMS_LEDGER_RETENTION_DAYS"]
    assert int(str(workers["OMS_LEDGER_RETENTION_DAYS"])) > 45 + 21


def test_the_worker_settings_accept_what_the_stack_sets(
    synth: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OMS_RETURN_WINDOW_DAYS", "OMS_RETURN_PARCEL_DAYS", "OMS_LEDGER_RETENTION_DAYS"):
        monkeypatch.setenv(name, str(container_env(synth)[name]))
    monkeypatch.setenv("OMS_ATTENTION_AFTER_SECONDS", "900")

    settings = load_settings()

    assert (settings.return_window_days, settings.attention_after_seconds) == (45, 900)
    assert settings.ledger_ttl_days == int(str(container_env(synth)["OMS_LEDGER_RETENTION_DAYS"]))

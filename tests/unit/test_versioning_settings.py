"""OMS_BUILD_ID / OMS_WORKER_DEPLOYMENT and what the worker makes of them."""

from __future__ import annotations

import pytest
from temporalio.common import VersioningBehavior

from oms import worker
from oms.config import SettingsError, load_settings
from oms.orders.workflow import OrderWorkflow
from tests.workflows.variants import AutoUpgradingParcelWorkflow, ParcelWorkflow


def test_without_a_build_id_the_worker_is_unversioned() -> None:
    settings = load_settings()

    assert settings.build_id is None
    assert settings.worker_deployment == "oms"
    assert worker.deployment_config(settings) is None


def test_a_build_id_makes_a_pinned_version_of_the_deployment() -> None:
    config = worker.deployment_config(load_settings(build_id="3f2a9c1", worker_deployment="shop"))

    assert config is not None
    assert config.use_worker_versioning
    assert (config.version.deployment_name, config.version.build_id) == ("shop", "3f2a9c1")
    assert config.default_versioning_behavior == VersioningBehavior.PINNED


@pytest.mark.parametrize(
    ("field", "value"), [("build_id", "a b"), ("build_id", ""), ("worker_deployment", "oms.v2")]
)
def test_a_bad_value_names_its_variable(field: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"OMS_{field.upper()}"):
        load_settings(**{field: value})


def test_a_versioned_worker_registers_the_auto_upgrade_variants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "WORKFLOWS", [OrderWorkflow, ParcelWorkflow])
    monkeypatch.setattr(worker, "AUTO_UPGRADE", {ParcelWorkflow: AutoUpgradingParcelWorkflow})

    versioned = worker.workflows(load_settings(build_id="b1"))
    unversioned = worker.workflows(load_settings())

    assert versioned == [OrderWorkflow, AutoUpgradingParcelWorkflow]
    assert unversioned == [OrderWorkflow, ParcelWorkflow]

from __future__ import annotations

from datetime import timedelta

import pytest

from oms.config import Settings, SettingsError, load_settings, settings_env


def test_defaults_work_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"OMS_{name.upper()}", raising=False)
    settings = load_settings()
    assert settings.task_queue == "order-processing"
    assert settings.step_latency_ms == 0
    assert settings.graceful_shutdown_seconds < 120  # below Fargate's maximum stop timeout
    assert settings.attention_after_seconds == 300
    assert (settings.return_window_days, settings.return_parcel_days) == (30, 14)
    assert (settings.purchase_collect, settings.supplier_confirm, settings.backorder_grace) == (
        timedelta(minutes=1),
        timedelta(hours=48),
        timedelta(days=7),
    )


def test_backorder_durations_are_iso_8601(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_PURCHASE_COLLECT", "PT2S")
    monkeypatch.setenv("OMS_SUPPLIER_CONFIRM", "PT30M")
    monkeypatch.setenv("OMS_BACKORDER_GRACE", "P1D")
    settings = load_settings()
    assert settings.purchase_collect == timedelta(seconds=2)
    assert settings.supplier_confirm == timedelta(minutes=30)
    assert settings.backorder_grace == timedelta(days=1)


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_TASK_QUEUE", "orders-blue")
    monkeypatch.setenv("OMS_STEP_LATENCY_MS", "250")
    monkeypatch.setenv("OMS_LOG_LEVEL", "debug")
    settings = load_settings()
    assert (settings.task_queue, settings.step_latency_ms, settings.log_level) == (
        "orders-blue",
        250,
        "DEBUG",
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OMS_STEP_LATENCY_MS", "-1"),
        ("OMS_STEP_LATENCY_MS", "fast"),
        ("OMS_SENDER_EMAIL", "nobody"),
        ("OMS_GRACEFUL_SHUTDOWN_SECONDS", "600"),
        ("OMS_LOG_LEVEL", "LOUD"),
        ("OMS_MAX_CONCURRENT_ACTIVITIES", "0"),
        ("OMS_ATTENTION_AFTER_SECONDS", "0"),
        ("OMS_ATTENTION_AFTER_SECONDS", "soon"),
        ("OMS_RETURN_WINDOW_DAYS", "0"),
        ("OMS_RETURN_PARCEL_DAYS", "two weeks"),
        ("OMS_SUPPLIER_CONFIRM", "PT0S"),
        ("OMS_BACKORDER_GRACE", "a week"),
    ],
)
def test_a_wrong_setting_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_settings_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    original = load_settings(task_queue="q2", step_latency_ms=300, ses_configuration_set="cs")
    for name, value in settings_env(original).items():
        monkeypatch.setenv(name, value)
    assert load_settings() == original

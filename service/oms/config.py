"""Settings: one pydantic-settings model, prefix `OMS_`, read once at each entry point.

Temporal connection settings are not here: they come from Temporal's own environment
configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_API_KEY`, TOML profiles; see `temporal_client`).
AWS endpoints and region follow boto3's conventions (`AWS_ENDPOINT_URL`, `AWS_REGION`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oms.orders.contract import DEFAULT_TASK_QUEUE
from oms.orders.models import ses_address
from oms.subscriptions.schedule import parse_duration

ENV_PREFIX = "OMS_"
# Kept beyond the return window and the parcel wait when OMS_LEDGER_RETENTION_DAYS is unset.
LEDGER_MARGIN_DAYS = 30


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the environment variable."""


class Settings(BaseSettings):
    """Every setting with a default that works against the local stack (`oms dev`)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    task_queue: str = Field(DEFAULT_TASK_QUEUE, min_length=1, description="Temporal task queue")
    inventory_table: str = Field("oms-inventory", min_length=3, description="DynamoDB stock table")
    orders_table: str = Field("oms-orders", min_length=3, description="DynamoDB order ledger")
    intake_queue: str = Field(
        "oms-intake", min_length=1, description="intake SQS queue, name or URL"
    )
    dlq: str = Field("oms-intake-dlq", min_length=1, description="dead-letter queue, name or URL")
    sender_email: str = Field("orders@example.com", description="SES sender (verified identity)")
    ses_configuration_set: str | None = Field(None, description="SES configuration set, optional")

    # A step that must finish (capture, ship, compensations, the email) may fail this long
    # before the order is marked NEEDS_ATTENTION; retries go on.
    attention_after_seconds: int = Field(300, ge=1, le=7 * 86400)

    # Returns (CONTRACT.md §6b): a return may be opened this many days after shipping, and its
    # parcel is awaited this many days (a durable timer) before the return expires.
    return_window_days: int = Field(30, ge=1, le=365, description="days after shipping")
    return_parcel_days: int = Field(14, ge=1, le=180, description="days to wait for a parcel")
    # The ledger's records expire (DynamoDB TTL) this long after their last write: beyond the
    # return window plus the parcel wait, so a return always finds its order's records. Unset:
    # that sum plus LEDGER_MARGIN_DAYS (chargebacks, support questions, late refunds).
    ledger_retention_days: int | None = Field(None, ge=1, le=3650)

    # Money rules (CONTRACT.md §6g), ISO 8601 durations ("P7D", "PT24H"): how long a card hold
    # lasts at the (simulated) provider, so a capture after that renews it first; orders above
    # `review_above` (minor units of their currency; unset: none) wait for a person's review,
    # at most `review_timeout`, then are rejected.
    authorization_validity: timedelta = Field(timedelta(days=7), gt=timedelta(0))
    review_above: int | None = Field(None, ge=0, description="minor units; unset: no review")
    review_timeout: timedelta = Field(timedelta(hours=24), gt=timedelta(0))

    # Backorders (CONTRACT.md §6f), ISO 8601 durations: a purchase order collects the shortfalls
    # of waiting orders for `purchase_collect` before it is placed (`oms dev`: 2 s); the supplier
    # must confirm within `supplier_confirm` and deliver by the ETA plus `backorder_grace`, or
    # the waiting orders fail BACKORDER_FAILED.
    purchase_collect: timedelta = Field(timedelta(minutes=1), ge=timedelta(0))
    supplier_confirm: timedelta = Field(timedelta(hours=48), gt=timedelta(0))
    backorder_grace: timedelta = Field(timedelta(days=7), ge=timedelta(0))

    # Deliveries (CONTRACT.md §6d): carrier events arrive on the events queue; the review
    # request goes out this long after delivery; a parcel silent this long may be lost.
    events_queue: str = Field("oms-events", min_length=1, description="events queue, name or URL")
    events_dlq: str = Field("oms-events-dlq", min_length=1, description="events DLQ, name or URL")
    review_request_days: float = Field(7, gt=0, le=365, description="days after delivery")
    delivery_silence_days: float = Field(10, gt=0, le=365, description="days without an event")

    # Subscriptions (CONTRACT.md §6e): the reminder's lead before each charge, and the shortest
    # interval a subscription may have (`oms dev` lowers it to PT10S). ISO 8601 durations.
    subscription_reminder: str = Field("P3D", description="reminder email before each charge")
    subscription_min_interval: str = Field("P1D", description="shortest subscription interval")

    # Local only: `oms dev` workers wait this long before each activity (an interceptor in
    # oms.local); the product's activities never read it. Capped well below the activities'
    # 30 s start-to-close timeout.
    step_latency_ms: int = Field(0, ge=0, le=10_000, description="simulated latency per step")

    # Worker tuning (see BENCHMARKS.md for how the defaults were chosen).
    # Also the size of the thread pool for the (blocking) activities and of boto3's connection
    # pool: a slot must never wait for a thread while its timeout runs.
    max_concurrent_activities: int = Field(64, ge=1, le=1000)
    max_concurrent_workflow_tasks: int = Field(64, ge=1, le=10_000)
    max_cached_workflows: int = Field(1000, ge=0, le=100_000)
    workflow_task_pollers: int = Field(4, ge=1, le=100)
    activity_task_pollers: int = Field(4, ge=1, le=100)
    graceful_shutdown_seconds: float = Field(
        30.0, ge=0, le=110, description="drain time on SIGTERM; keep below the ECS stop timeout"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field("text", description="json in AWS (CloudWatch)")
    # emf: SDK and business metrics as CloudWatch embedded metric format on stdout (the stack
    # sets it); off locally so stdout stays readable. Names: oms.metrics.
    metrics: Literal["off", "emf"] = Field("off", description="metrics output: off or emf")

    temporal_secret_arn: str | None = Field(
        None,
        description='Secrets Manager secret with the Temporal API key ({"apiKey"}) or mTLS '
        'pair ({"tlsCert", "tlsKey"}); read at start-up where env injection is not available',
    )

    payload_key_id: str | None = Field(
        None,
        description="AWS KMS key (id, ARN or alias/...) for payload encryption; unset: payloads "
        "are written unencrypted (unit tests only; `oms dev` and the CDK stack always set it)",
    )

    # `oms codec-server --auth token`: callers send `Authorization: Bearer <token>` (the
    # Temporal CLI: TEMPORAL_CODEC_AUTH). A secret: never logged, never in a repr.
    codec_server_token: SecretStr | None = Field(
        None, description="bearer token the codec server requires (with --auth token)"
    )

    # Worker Versioning (CONTRACT.md §7): with a build id the worker joins the Worker Deployment
    # as version `<deployment>:<build id>`; unset, it is unversioned (tests, quick local use).
    build_id: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="this worker's build id (the image's commit); unset: unversioned worker",
    )
    worker_deployment: str = Field(
        "oms",
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_-]+$",  # no dots: older servers joined name.build
        description="Temporal Worker Deployment the versioned worker joins",
    )

    @field_validator("sender_email")
    @classmethod
    def _sender_is_an_address(cls, value: str) -> str:
        try:
            return ses_address(value)
        except ValueError:
            raise ValueError("must be an email address such as orders@example.com") from None

    @property
    def ledger_ttl_days(self) -> int:
        """Days a ledger record outlives its last write (DynamoDB TTL on `expiresAt`)."""
        if self.ledger_retention_days is not None:
            return self.ledger_retention_days
        return self.return_window_days + self.return_parcel_days + LEDGER_MARGIN_DAYS

    @model_validator(mode="after")
    def _ledger_outlives_returns(self) -> Settings:
        floor = self.return_window_days + self.return_parcel_days
        if self.ledger_retention_days is not None and self.ledger_retention_days < floor:
            # A return opened late would find its order's records already deleted.
            raise ValueError(
                f"ledger_retention_days must be at least return_window_days + "
                f"return_parcel_days ({floor})"
            )
        return self

    @field_validator("subscription_reminder", "subscription_min_interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # ValueError names the problem
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.upper() if value.lower() not in ("text", "json") else value.lower()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once (environment, then overrides); raise `SettingsError` naming the
    offending variable, so a bad deployment fails at start-up with a message a person can act on.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as `OMS_*` environment variables (for `.oms/local.env` and child processes)."""
    env = {}
    durations = settings.model_dump(mode="json")  # timedelta as ISO 8601, what is read back
    for name, value in settings.model_dump().items():
        text = durations[name] if isinstance(value, timedelta) else value
        if text is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = str(text)
    return env

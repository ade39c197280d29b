"""Deployment settings, read from CDK context (`cdk.json` or `cdk synth -c key=value`).

Every key has a documented default (docs/DEPLOY.md) so `cdk synth` works on a fresh clone; the
Temporal and sender values are placeholders to replace before `cdk deploy`. A wrong value fails
synth with one line naming the context key. A pydantic model: the types, ranges and choices
are declared on the fields; the rules that tie fields together are one `model_validator`.
Pure Python, no CDK import: cheap to unit-test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from oms.config import LEDGER_MARGIN_DAYS
from oms.orders.contract import DEFAULT_TASK_QUEUE

TemporalAuth = Literal["api-key", "mtls"]
Stage = Literal["production", "development"]
STAGES: tuple[Stage, ...] = ("production", "development")
# A development stage is an explicit, cheaper choice (`-c stage=development`): these keys
# change their defaults; anything set explicitly in context still wins.
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "production": {},
    # natGateways 0: public subnets, a public IP per task and no inbound rule, no NAT gateway.
    "development": {
        "workerCount": 1,
        "workerMinCount": 1,
        "natGateways": 0,
        "logRetentionDays": 7,
    },
}
# The complete ARN of a secret, with the 6 characters Secrets Manager appends to its name: ECS
# injects by exactly this ARN and IAM grants exactly it. A bare name would make ECS resolve a
# partial ARN while IAM grants `name-??????` (aws-cdk #24142, #18555): AccessDenied at task start.
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$"
)

# Fargate caps the container stop timeout at 120 s; the worker needs some seconds after its
# drain to close the Temporal connection and exit, so the drain may use at most this much.
MAX_STOP_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_MARGIN_SECONDS = 30
# Fargate CPU units -> allowed memory (MiB) for the sizes a worker plausibly uses.
FARGATE_SIZES: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
# Retention periods CloudWatch Logs accepts, limited to the ones worth offering.
LOG_RETENTION_DAYS = (7, 14, 30, 90, 180, 365, 731)
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# EC2 ids as CloudFormation checks them (8 or 17 hex digits), and AZ names like eu-west-1a.
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_AZ = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
# As OMS_BUILD_ID / OMS_WORKER_DEPLOYMENT accept them; 40 characters: a full commit sha fits
# in an ECS service name with its prefix.
_BUILD_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_DEPLOYMENT = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# The new build and the ones still draining; each is a Fargate service with its minimum count.
MAX_LIVE_BUILDS = 4


class ConfigError(ValueError):
    """A context value is wrong; the message names the context key."""


class DeployConfig(BaseModel):
    """The deployment's knobs. Field names map to camelCase context keys (`temporal_address`
    is `temporalAddress`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stack_name: str = "OmsOnTemporal"
    stage: Stage = "production"
    # Temporal Cloud: namespace endpoint (mTLS or API key) or regional endpoint (API key).
    temporal_address: str = "oms.a1b2c.tmprl.cloud:7233"
    temporal_namespace: str = "oms.a1b2c"
    temporal_auth: TemporalAuth = "api-key"
    # Secrets Manager secret, complete ARN, JSON: {"apiKey": ...} or {"tlsCert", "tlsKey"}.
    # The default is a placeholder (synth works on a fresh clone; a deploy with it fails).
    temporal_secret: str = (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:oms/temporal-AbCdEf"  # noqa: S105
    )
    task_queue: str = DEFAULT_TASK_QUEUE

    sender_email: str = "orders@example.com"
    # Verify the whole domain instead of the single address (DKIM records to publish).
    sender_domain: str | None = None
    # SES sandbox only: the verified test recipients (SES checks the recipient's identity too,
    # so the send grant names these identities). Leave unset once out of the sandbox.
    ses_test_recipients: tuple[str, ...] = ()

    worker_count: Annotated[int, Field(ge=1)] = 2
    worker_min_count: Annotated[int, Field(ge=1)] = 2  # production: two tasks, spread over two AZs
    worker_max_count: int = 10
    worker_cpu: int = 512
    worker_memory_mib: int = 1024
    worker_cpu_target_percent: int = 60
    worker_drain_seconds: int = 30
    # Worker Versioning (CONTRACT.md §7, §10): the live worker builds, newest first (the new
    # build plus those still draining); one Fargate service each. The pipeline computes it
    # (docs/DEPLOY.md, "Versioning"). Empty: one unversioned service (a first manual deploy).
    worker_builds: tuple[str, ...] = ()
    worker_deployment: str = "oms"

    # Above 10 SQS needs a batching window, which only adds latency to each order.
    starter_batch_size: Annotated[int, Field(ge=1, le=10)] = 10
    starter_concurrency: int = 5
    starter_reserved_concurrency: int | None = None
    starter_timeout_seconds: int = 30
    starter_memory_mib: Annotated[int, Field(ge=256, le=10240)] = 512
    dlq_max_receive_count: Annotated[int, Field(ge=1, le=1000)] = 5

    # An existing VPC instead of a new one (all three together; no lookup, synth stays offline).
    vpc_id: str | None = None
    vpc_private_subnet_ids: tuple[str, ...] = ()
    vpc_availability_zones: tuple[str, ...] = ()
    # New VPC only; an existing one (vpcId) brings its own egress.
    nat_gateways: Annotated[int, Field(ge=0, le=3)] = 1

    alarm_email: str | None = None
    log_retention_days: int = 30

    # What shapes a workflow, set here for the processes that read it (issue 19): a step that
    # must finish may fail this long before the order needs attention (starter and workers:
    # OMS_ATTENTION_AFTER_SECONDS); a return may be opened this many days after shipping and
    # its parcel is awaited this many days (workers: OMS_RETURN_WINDOW_DAYS / _PARCEL_DAYS).
    attention_after_seconds: Annotated[int, Field(ge=1, le=7 * 86400)] = 300
    return_window_days: Annotated[int, Field(ge=1, le=365)] = 30
    return_parcel_days: Annotated[int, Field(ge=1, le=180)] = 14

    @property
    def ledger_retention_days(self) -> int:
        """Ledger records outlive their last write by the return window, the parcel wait and a
        margin (oms.config's rule; every writer is told the same, OMS_LEDGER_RETENTION_DAYS)."""
        return self.return_window_days + self.return_parcel_days + LEDGER_MARGIN_DAYS

    @property
    def stop_timeout_seconds(self) -> int:
        """The container stop timeout: the drain plus time to disconnect, within Fargate's cap."""
        return min(
            self.worker_drain_seconds + STOP_TIMEOUT_MARGIN_SECONDS, MAX_STOP_TIMEOUT_SECONDS
        )

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        """AWS's advice for Lambda event sources: at least six times the function timeout."""
        return 6 * self.starter_timeout_seconds

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeployConfig:
        """Build from a context getter such as `app.node.try_get_context`; unset keys keep
        their defaults. Raise `ConfigError` with one line naming the first wrong key."""
        stage = get("stage") or "production"
        if stage not in STAGES:
            _fail("stage", f"must be one of {', '.join(STAGES)}")
        presets = STAGE_DEFAULTS[stage]
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = context_key(name)
            raw = get(key)
            if raw is None or raw == "":
                raw = presets.get(key)
            if raw is not None and raw != "":
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _config_error(exc.errors()[0]) from None

    @field_validator("*", mode="before")
    @classmethod
    def _from_context_text(cls, value: Any, info: Any) -> Any:
        """Context from the command line arrives as strings, cdk.json brings JSON: lists may
        be comma-separated text, and a JSON true is not a number."""
        kind = str(cls.model_fields[info.field_name].annotation)
        if "tuple" in kind:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
        if "int" in kind and isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")  # pydantic takes True as 1
        if kind in ("str", "str | None") and isinstance(value, int | float):
            return str(value)
        return value

    @model_validator(mode="after")
    def _rules_across_fields(self) -> DeployConfig:
        """The rules no single field's type says (each raises `ConfigError`)."""
        self._check_temporal_and_email()
        self._check_workers()
        self._check_starter()
        self._check_network_and_ops()
        return self

    def _check_temporal_and_email(self) -> None:
        if self.temporal_auth not in ("api-key", "mtls"):
            _fail("temporal_auth", "must be 'api-key' or 'mtls'")
        if not re.fullmatch(r"[^\s:]+:\d{1,5}", self.temporal_address):
            _fail("temporal_address", "must be host:port, e.g. my-ns.a1b2c.tmprl.cloud:7233")
        if not _SECRET_ARN.match(self.temporal_secret):
            _fail(
                "temporal_secret",
                "must be the secret's complete ARN, ending in -XXXXXX (aws secretsmanager "
                "describe-secret --secret-id NAME --query ARN)",
            )
        if not self.temporal_namespace.strip():
            _fail("temporal_namespace", "must not be empty")
        if not _EMAIL.match(self.sender_email):
            _fail("sender_email", "must be an email address such as orders@example.com")
        if self.sender_domain is not None:
            if not _DOMAIN.match(self.sender_domain):
                _fail("sender_domain", "must be a domain name such as example.com")
            if not self.sender_email.lower().endswith("@" + self.sender_domain.lower()):
                _fail("sender_email", f"must be an address in senderDomain {self.sender_domain}")
        if not all(_EMAIL.match(address) for address in self.ses_test_recipients):
            _fail("ses_test_recipients", "must be email addresses, comma-separated")

    def _check_workers(self) -> None:
        if not 1 <= self.worker_min_count <= self.worker_count <= self.worker_max_count:
            _fail("worker_count", "need 1 <= workerMinCount <= workerCount <= workerMaxCount")
        if self.stage == "production" and self.worker_min_count < 2:
            # One task is one AZ and no worker at all during its replacement.
            _fail("worker_min_count", "must be at least 2 in production (stage=development: 1)")
        if self.worker_memory_mib not in FARGATE_SIZES.get(self.worker_cpu, range(0)):
            _fail("worker_memory_mib", f"not a Fargate size for workerCpu {self.worker_cpu}")
        if not 10 <= self.worker_cpu_target_percent <= 90:
            _fail("worker_cpu_target_percent", "must be between 10 and 90")
        if not all(_BUILD_ID.match(build) for build in self.worker_builds):
            _fail("worker_builds", "must be build ids (letters, digits, . _ -), comma-separated")
        if len(set(self.worker_builds)) != len(self.worker_builds):
            _fail("worker_builds", "lists a build twice")
        if len(self.worker_builds) > MAX_LIVE_BUILDS:
            _fail("worker_builds", f"at most {MAX_LIVE_BUILDS} live builds (drained ones go)")
        if not _DEPLOYMENT.match(self.worker_deployment):
            _fail("worker_deployment", "must be letters, digits, _ or -")
        limit = MAX_STOP_TIMEOUT_SECONDS - STOP_TIMEOUT_MARGIN_SECONDS
        if not 0 <= self.worker_drain_seconds <= limit:
            _fail("worker_drain_seconds", f"must be between 0 and {limit} (Fargate stops at 120 s)")

    def _check_starter(self) -> None:
        if not 2 <= self.starter_concurrency <= 1000:
            _fail("starter_concurrency", "must be between 2 and 1000 (SQS maximum concurrency)")
        if self.starter_reserved_concurrency is not None and not (
            self.starter_concurrency <= self.starter_reserved_concurrency <= 1000
        ):
            _fail("starter_reserved_concurrency", "must be >= starterConcurrency (or unset)")
        if not 3 <= self.starter_timeout_seconds <= 120:
            # 6x the timeout must fit SQS's 12-hour visibility cap with room; 120 s is plenty.
            _fail("starter_timeout_seconds", "must be between 3 and 120")

    def _check_network_and_ops(self) -> None:
        subnets, zones = self.vpc_private_subnet_ids, self.vpc_availability_zones
        if self.vpc_id is None and (subnets or zones):
            _fail("vpc_id", "is required when vpcPrivateSubnetIds/vpcAvailabilityZones are set")
        if self.vpc_id is not None:
            if not _VPC_ID.match(self.vpc_id):
                _fail("vpc_id", "must be a VPC id such as vpc-0123456789abcdef0")
            if not subnets or not zones:
                _fail("vpc_id", "also set vpcPrivateSubnetIds and vpcAvailabilityZones")
            if not all(_SUBNET_ID.match(subnet) for subnet in subnets):
                _fail("vpc_private_subnet_ids", "must be subnet ids such as subnet-0123abcd")
            if not all(_AZ.match(zone) for zone in zones):
                _fail("vpc_availability_zones", "must be zone names such as eu-west-1a")
            if len(subnets) % len(zones):
                _fail("vpc_private_subnet_ids", "need the same number of subnets in each zone")
        if self.stage == "production" and self.nat_gateways == 0:
            # CONTRACT.md §10: production workers run in private subnets with egress.
            _fail("nat_gateways", "must be at least 1 in production (stage=development: 0)")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            _fail("log_retention_days", f"must be one of {LOG_RETENTION_DAYS}")
        if self.alarm_email is not None and not _EMAIL.match(self.alarm_email):
            _fail("alarm_email", "must be an email address")


def is_secret_arn(value: str) -> bool:
    """A Secrets Manager secret's complete ARN (what ECS injects by and IAM grants)."""
    return bool(_SECRET_ARN.match(value))


def _fail(field_name: str, problem: str) -> NoReturn:
    raise ConfigError(f"context {context_key(field_name)}: {problem}")


def context_key(field_name: str) -> str:
    """`worker_memory_mib` -> `workerMemoryMiB`: the camelCase key used in context."""
    head, *rest = field_name.split("_")
    return (head + "".join(part.capitalize() for part in rest)).replace("Mib", "MiB")


def _config_error(error: ErrorDetails) -> ConfigError:
    """One pydantic error as one line: `context workerCount: Input should be ...`."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return cause  # a cross-field rule already named its key
    field = str(error["loc"][0]) if error["loc"] else "?"
    message = error["msg"].removeprefix("Value error, ")
    return ConfigError(f"context {context_key(field)}: {message}")

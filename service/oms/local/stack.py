"""The embedded local stack: Temporal dev server (with UI), moto server (SQS, DynamoDB, SES),
the queues/tables/sender identity, seeded stock, N workers and the intake bridge.

Every service is a child process with its log under `.oms/logs/`; readiness is polled with a
deadline, never slept for; `stop()` drains workers and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from temporalio.client import Client

from oms.aws import aws_clients
from oms.codec import ensure_payload_key, kms_client
from oms.config import Settings, settings_env
from oms.local.binaries import temporal_cli
from oms.local.children import Child, Children
from oms.local.demo_orders import DEMO_STOCK
from oms.local.env_file import write_env_file
from oms.local.ports import check_ports_free, free_port, listening
from oms.local.readiness import aws_ready, temporal_ready, wait_for_workers, wait_until_ready
from oms.orders.client import OrderClient
from oms.orders.contract import ORDER_STATUS_ATTRIBUTE
from oms.resources import QueueUrls, ensure_all
from oms.subscriptions.contract import SUBSCRIPTION_STATUS_ATTRIBUTE
from oms.temporal_client import data_converter

# free_port: tests and the bench import it from here.
__all__ = ["LocalStack", "StackOptions", "free_port", "local_build_id"]

LOCAL_ENV_FILE = "local.env"
SERVER_STOP_SECONDS = 3.0  # then SIGKILL: the servers keep nothing the run still needs
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def local_build_id() -> str:
    """A build id derived from the code (the oms package's sources): same code, same build."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0" + path.read_bytes())
    return f"local-{digest.hexdigest()[:12]}"


# moto accepts any credentials; these only keep boto3 from looking for real ones.
LOCAL_AWS = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    temporal_port: int = 7233
    ui_port: int = 8233
    aws_port: int = 4566
    codec_port: int = 8081
    workers: int = 1
    intake: bool = True
    # Temporal's state is in this SQLite file, so a restarted server loses nothing; None: a
    # temporary file for the run. `persist=False` keeps it in memory (the benchmark's fresh
    # servers, where a file would only add disk writes to what is measured).
    db_filename: str | None = None
    persist: bool = True
    # The UI through oms.local.ui_proxy: each order's OrderStatus in the workflow list.
    ui_proxy: bool = True
    state_dir: Path = Path(".oms")
    # The emulated carrier (oms.local.carrier): "auto" posts carrier events for every shipped
    # parcel, one every `carrier_step_s`; "manual" leaves them to `oms carrier event`.
    carrier: Literal["auto", "manual"] = "manual"
    carrier_step_s: float = 5.0
    carrier_silent_share: float = 0.0
    # The emulated supplier (oms.local.supplier): "auto" confirms then delivers every purchase
    # order, "reject" rejects it, one answer every `supplier_step_s`; "manual" leaves them to
    # `oms supplier event`.
    supplier: Literal["auto", "manual", "reject"] = "manual"
    supplier_step_s: float = 5.0
    ready_timeout: float = 60.0


@dataclass
class LocalStack:
    options: StackOptions
    settings: Settings
    on_progress: Callable[[str], None] = lambda _message: None
    children: Children = field(init=False)
    workers: list[Child] = field(default_factory=list)
    queues: QueueUrls | None = None
    temporal: Child | None = None
    _scratch: Path | None = None  # temporary files of this run, removed by stop()
    _workers_started: int = 0

    def __post_init__(self) -> None:
        self.children = Children(self.options.state_dir / "logs")

    @property
    def db_filename(self) -> str | None:
        if self.options.db_filename or not self.options.persist:
            return self.options.db_filename
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="oms-temporal-"))
        return str(self._scratch / "temporal.db")

    @property
    def temporal_address(self) -> str:
        return f"{self.options.host}:{self.options.temporal_port}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.options.host}:{self.options.aws_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.options.host}:{self.options.ui_port}"

    @property
    def codec_url(self) -> str:
        return f"http://{self.options.host}:{self.options.codec_port}"

    def environment(self) -> dict[str, str]:
        """Everything another process needs to use this stack (also `.oms/local.env`)."""
        return {
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            # The Temporal CLI's own variable: `temporal workflow show` decodes through it.
            "TEMPORAL_CODEC_ENDPOINT": self.codec_url,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            **LOCAL_AWS,
            **settings_env(self.settings),
        }

    def start(self) -> None:
        o = self.options
        check_ports_free(
            o.host,
            {
                "--temporal-port": o.temporal_port,
                "--ui-port": o.ui_port,
                "--aws-port": o.aws_port,
                "--codec-port": o.codec_port,
            },
        )
        os.environ.update(self.environment())  # this process talks to the stack too
        try:
            self._start_servers()
            clients = aws_clients()
            self.queues = ensure_all(clients, self.settings)
            self.on_progress("created queues, tables and the sender identity")
            ledger = clients.ledger(self.settings)
            for sku, quantity in DEMO_STOCK.items():
                ledger.set_stock(sku, quantity)
            self.on_progress(f"seeded stock for {len(DEMO_STOCK)} SKUs")
            if o.workers and not self.settings.build_id:
                # Versioned like production: the local UI shows a Worker Deployment, and a
                # restart with changed code (--db-filename) pins running orders to the old one.
                # (With --workers 0 nothing would promote a version: workers started by hand
                # stay unversioned.)
                self.settings = self.settings.model_copy(update={"build_id": local_build_id()})
                os.environ.update(self.environment())
            for _ in range(o.workers):
                self.start_worker()
            if o.intake:
                self.children.start("intake", [sys.executable, "-m", "oms", "intake"], self._env())
            if o.carrier == "auto":
                self.start_carrier(o.carrier_step_s, o.carrier_silent_share)
            if o.supplier != "manual":
                self.start_supplier(o.supplier, o.supplier_step_s)
            asyncio.run(
                wait_for_workers(
                    self.temporal_address, self.settings, self.workers, o.workers,
                    within=o.ready_timeout, on_progress=self.on_progress,
                )
            )  # fmt: skip
            self._write_local_env()
        except BaseException:
            self.stop()
            raise

    def start_carrier(self, step_s: float, silent_share: float = 0.0) -> Child:
        """The emulated carrier (oms.local.carrier), as one more supervised process."""
        command = [
            sys.executable, "-m", "oms.local.carrier",
            "--step-s", str(step_s), "--silent-share", str(silent_share),
        ]  # fmt: skip
        return self.children.start("carrier", command, self._env())

    def start_supplier(self, mode: str, step_s: float, *, rejecting: tuple[str, ...] = ()) -> Child:
        """The emulated supplier (oms.local.supplier), as one more supervised process."""
        command = [
            sys.executable, "-m", "oms.local.supplier", "--mode", mode, "--step-s", str(step_s),
            *(arg for supplier in rejecting for arg in ("--reject-supplier", supplier)),
        ]  # fmt: skip
        return self.children.start("supplier", command, self._env())

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.environment()}

    def _start_servers(self) -> None:
        o = self.options
        dev_ui_port = free_port(o.host) if o.ui_proxy else o.ui_port
        command = [
            temporal_cli(), "server", "start-dev",
            "--ip", o.host, "--port", str(o.temporal_port), "--ui-port", str(dev_ui_port),
            "--search-attribute", f"{ORDER_STATUS_ATTRIBUTE}=Keyword",
            "--search-attribute", f"{SUBSCRIPTION_STATUS_ATTRIBUTE}=Keyword", "--log-level", "warn",
            "--ui-codec-endpoint", self.codec_url,
        ]  # fmt: skip
        if self.db_filename:
            command += ["--db-filename", self.db_filename]
        temporal = self.temporal = self.children.start("temporal", command, self._env())
        emulator = self.children.start(
            "aws",
            [
                sys.executable,
                "-m",
                "oms.local.emulator",
                "--host",
                o.host,
                "--port",
                str(o.aws_port),
            ],
            self._env(),
        )
        self._wait(emulator, "AWS emulator", self._aws_ready)
        self.on_progress(f"AWS emulator (moto) ready at {self.aws_endpoint}")
        self._start_codec_server()
        self._wait(temporal, "Temporal dev server", self._temporal_ready)
        if o.ui_proxy:
            upstream = f"http://{o.host}:{dev_ui_port}"
            command = [sys.executable, "-m", "oms.local.ui_proxy", "--host", o.host,
                       "--port", str(o.ui_port), "--upstream", upstream]  # fmt: skip
            ui = self.children.start("ui", command, self._env())
            self._wait(ui, "Temporal UI", lambda: listening(o.host, o.ui_port))
        self.on_progress(f"Temporal dev server ready at {self.temporal_address}, UI {self.ui_url}")

    def _start_codec_server(self) -> None:
        """The payload key in the emulator (unless OMS_PAYLOAD_KEY_ID names one), then the codec
        server the UI decodes through. Everything started later encrypts with that key."""
        if not self.settings.payload_key_id:
            key = ensure_payload_key(kms_client())
            self.settings = self.settings.model_copy(update={"payload_key_id": key})
            os.environ.update(self.environment())
        o = self.options
        origins = [self.ui_url, f"http://localhost:{o.ui_port}"]
        command = [
            sys.executable, "-m", "oms", "codec-server", "--host", o.host,
            "--port", str(o.codec_port), *(a for u in origins for a in ("--cors-origin", u)),
            # Local only, on a loopback address: the Host and Origin checks still apply.
            "--auth", "none",
        ]  # fmt: skip
        codec = self.children.start("codec", command, self._env())
        self._wait(codec, "codec server", lambda: listening(o.host, o.codec_port))
        self.on_progress(f"payloads encrypted; codec server ready at {self.codec_url}")

    def _wait(self, child: Child, what: str, ready: Callable[[], bool]) -> None:
        wait_until_ready(child, what, ready, within=self.options.ready_timeout)

    def _aws_ready(self) -> bool:
        return aws_ready(self.aws_endpoint)

    def _temporal_ready(self) -> bool:
        return temporal_ready(self.temporal_address)

    def start_worker(self) -> Child:
        self._workers_started += 1
        name = f"worker-{self._workers_started}"
        # The product's worker with the demo's step latency around it (oms.local.latency).
        worker = self.children.start(name, [sys.executable, "-m", "oms.local.worker"], self._env())
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: Child) -> None:
        """SIGKILL: a crash, not a drain (the demo's crash scenario)."""
        self.children.stop(worker, kill=True)
        self.workers.remove(worker)

    def drain_worker(self, worker: Child) -> int | None:
        """SIGTERM: the worker stops polling, finishes what it started, exits; its exit code."""
        self.children.stop(worker, timeout=self.settings.graceful_shutdown_seconds + 5)
        self.workers.remove(worker)
        return worker.process.returncode

    def restart(self, child: Child) -> Child:
        """Start a child that died again: same name, command and log (the supervisor)."""
        new = self.children.restart(child)
        if child in self.workers:
            self.workers[self.workers.index(child)] = new
        if child is self.temporal:
            self.temporal = new
            self._wait(new, "Temporal dev server", self._temporal_ready)
        return new

    async def connect(self) -> Client:
        converter = data_converter(self.settings)
        return await Client.connect(self.temporal_address, data_converter=converter)

    async def orders(self) -> OrderClient:
        """The order client, as the CLI builds it, on this stack."""
        return OrderClient(
            await self.connect(),
            aws_clients().ledger(self.settings),
            task_queue=self.settings.task_queue,
            attention_after_seconds=self.settings.attention_after_seconds,
            review_above=self.settings.review_above,
            review_timeout=self.settings.review_timeout,
        )

    def _write_local_env(self) -> None:
        write_env_file(
            self.local_env_path, self.environment(), comment=f"Temporal UI: {self.ui_url}"
        )

    @property
    def local_env_path(self) -> Path:
        return self.options.state_dir / LOCAL_ENV_FILE

    def stop(self) -> None:
        """Workers and the intake bridge first: they finish what they started while Temporal
        and AWS still answer (no activity fails for a server that is already gone); then the
        codec server, Temporal and the AWS emulator. `children.kill_all()` (a second Ctrl-C)
        cuts any of it short."""
        drainers = [c for c in self.children.running if c in self.workers or c.name == "intake"]
        self.children.stop_group(drainers, timeout=self.settings.graceful_shutdown_seconds + 2)
        self.workers.clear()
        self.children.stop_group(list(self.children.running), timeout=SERVER_STOP_SECONDS)
        self.local_env_path.unlink(missing_ok=True)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

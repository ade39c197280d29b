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
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from oms.aws import aws_clients
from oms.codec import ensure_payload_key, kms_client
from oms.config import Settings, settings_env
from oms.local.binaries import temporal_cli
from oms.local.children import Child, Children
from oms.local.demo_orders import DEMO_STOCK
from oms.local.errors import StackError
from oms.ops.versions import promote, wait_for_pollers, wait_until_routed
from oms.orders.client import OrderClient
from oms.orders.contract import ORDER_STATUS_ATTRIBUTE
from oms.resources import QueueUrls, ensure_all
from oms.temporal_client import data_converter

LOCAL_ENV_FILE = "local.env"
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
    state_dir: Path = Path(".oms")
    ready_timeout: float = 60.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    for option, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                raise StackError(
                    f"port {port} is in use; stop what uses it or choose another with {option}"
                    " (is another `oms dev` running?)",
                    exit_code=2,
                ) from None


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
            asyncio.run(self._wait_for_pollers(o.workers))
            self._write_local_env()
        except BaseException:
            self.stop()
            raise

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.environment()}

    def _start_servers(self) -> None:
        o = self.options
        command = [
            temporal_cli(), "server", "start-dev",
            "--ip", o.host, "--port", str(o.temporal_port), "--ui-port", str(o.ui_port),
            "--search-attribute", f"{ORDER_STATUS_ATTRIBUTE}=Keyword", "--log-level", "warn",
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
        ]  # fmt: skip
        codec = self.children.start("codec", command, self._env())
        self._wait(codec, "codec server", lambda: _listening(o.host, o.codec_port))
        self.on_progress(f"payloads encrypted; codec server ready at {self.codec_url}")

    def _wait(self, child: Child, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        while not ready():
            if not child.alive():
                raise StackError(f"{what} exited during start-up:\n{child.log_tail()}")
            if time.monotonic() > deadline:
                raise StackError(f"{what} not ready after {self.options.ready_timeout:.0f}s")
            time.sleep(0.1)

    def _aws_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.aws_endpoint}/moto-api/", timeout=2):  # noqa: S310
                return True
        except OSError:
            return False

    def _temporal_ready(self) -> bool:
        async def probe() -> bool:
            try:
                client = await Client.connect(self.temporal_address)
                await client.count_workflows()
            except Exception:  # not up yet: connection refused, or frontend still starting
                return False
            return True

        return asyncio.run(probe())

    async def _wait_for_pollers(self, expected: int) -> None:
        """Ready means the workers are polling the task queue, not merely started."""
        if expected == 0:
            return
        client = await Client.connect(self.temporal_address)
        deadline = time.monotonic() + self.options.ready_timeout
        request = DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=self.settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        while True:
            pollers = (await client.workflow_service.describe_task_queue(request)).pollers
            if len({p.identity for p in pollers}) >= expected:
                self.on_progress(f"{expected} worker(s) polling {self.settings.task_queue}")
                await self._promote(client)
                return
            dead = [w for w in self.workers if not w.alive()]
            if dead:
                raise StackError(f"worker exited during start-up:\n{dead[0].log_tail()}")
            if time.monotonic() > deadline:
                raise StackError(
                    "workers did not start polling in time; see .oms/logs/worker-*.log"
                )
            await asyncio.sleep(0.2)

    async def _promote(self, client: Client) -> None:
        """The workers' build becomes current, as a deploy's last step does."""
        build_id, deployment = self.settings.build_id, self.settings.worker_deployment
        if not build_id:
            return
        await wait_for_pollers(client, deployment, build_id, self.settings.task_queue, within=30)
        await promote(client, deployment, build_id)
        await wait_until_routed(client, build_id, self.settings.task_queue, within=30)
        self.on_progress(f"build {build_id} is current in Worker Deployment {deployment}")

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
        )

    def _write_local_env(self) -> None:
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"# written by `oms dev`; removed when it stops. Temporal UI: {self.ui_url}"]
        lines += [f"{name}={value}" for name, value in sorted(self.environment().items())]
        self.local_env_path.write_text("\n".join(lines) + "\n")

    @property
    def local_env_path(self) -> Path:
        return self.options.state_dir / LOCAL_ENV_FILE

    def stop(self) -> None:
        self.children.stop_all(timeout=self.settings.graceful_shutdown_seconds + 5)
        self.local_env_path.unlink(missing_ok=True)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

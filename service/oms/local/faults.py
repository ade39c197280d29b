"""Fault injection in the local AWS emulator: for a while, calls to one service are answered
with that service's own transient error, in its own wire protocol, so boto3 raises exactly what
it raises during an AWS outage and the product's retry paths (boto3's, then Temporal's) run.

The state lives in the emulator process; `oms faults` and the demo scenarios drive it over HTTP
at `FAULTS_PATH` (GET lists, POST sets, DELETE clears). Demo-only: nothing in the product
knows about it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

FAULTS_PATH = "/oms-emulator/faults"
SERVICES = ("ses", "dynamodb", "sqs", "kms")
Kind = Literal["unavailable", "throttling"]
MAX_SECONDS = 3600.0


class Fault(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    service: str
    kind: Kind = "unavailable"
    remaining_seconds: float = 0.0
    injected: int = Field(0, description="calls answered with the error so far")


class FaultRequest(BaseModel):
    service: Literal["ses", "dynamodb", "sqs", "kms"]
    seconds: float = Field(gt=0, le=MAX_SECONDS)
    kind: Kind = "unavailable"


# --- the error each service answers with, in its own protocol -------------------------------

# (status, code, message) per service and kind; the codes are the ones AWS documents for each
# API and the ones botocore's standard retry mode treats as transient.
_ERRORS: dict[str, dict[str, tuple[int, str, str]]] = {
    "dynamodb": {
        "unavailable": (500, "InternalServerError", "Internal server error"),
        "throttling": (400, "ThrottlingException", "Rate of requests exceeds the allowed limit."),
    },
    "kms": {
        "unavailable": (500, "KMSInternalException", "An internal error occurred."),
        "throttling": (400, "ThrottlingException", "Rate exceeded"),
    },
    "sqs": {
        "unavailable": (503, "ServiceUnavailable", "Service unavailable."),
        "throttling": (400, "RequestThrottled", "Rate exceeded"),
    },
    "ses": {  # SES v2 (REST-JSON); v1 answers Throttling / ServiceUnavailable in XML
        "unavailable": (503, "ServiceUnavailable", "Service is unavailable."),
        "throttling": (429, "TooManyRequestsException", "Maximum sending rate exceeded."),
    },
}  # fmt: skip
_JSON_NAMESPACES = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}
_REASONS = {400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip
_SERVICE_IN_SIGNATURE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([a-z0-9-]+)/aws4_request")

Response = tuple[str, list[tuple[str, str]], bytes]


def service_of(environ: dict[str, Any]) -> str | None:
    """The service a request is for, from its SigV4 credential scope (as moto dispatches)."""
    match = _SERVICE_IN_SIGNATURE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    name = match.group(1)
    return "ses" if name in ("ses", "email") else name


def error_response(service: str, kind: str, environ: dict[str, Any]) -> Response:
    """The error AWS would send, in the protocol the request used."""
    status, code, message = _ERRORS[service][kind]
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    target = environ.get("HTTP_X_AMZ_TARGET")
    content_type = environ.get("CONTENT_TYPE", "")
    if service == "ses" and "x-www-form-urlencoded" in content_type:  # SES v1: query protocol
        code = "Throttling" if kind == "throttling" else "ServiceUnavailable"
        status = 400 if kind == "throttling" else 503
    if "x-www-form-urlencoded" in content_type:  # query protocol (SQS, SES v1): XML
        fault = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif target:  # awsJson 1.0 / 1.1 (DynamoDB, KMS, SQS)
        document = {"__type": _JSON_NAMESPACES.get(service, "") + code, "message": message}
        body_bytes = json.dumps(document).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
        if service == "sqs":  # SQS's JSON protocol also names the query-compatible code
            fault = "Sender" if status < 500 else "Receiver"
            headers.append(("x-amzn-query-error", f"{code};{fault}"))
        return f"{status} {_REASONS[status]}", headers, body_bytes
    else:  # REST-JSON (SES v2): the code travels in a header
        body = json.dumps({"message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return f"{status} {_REASONS[status]}", headers, body


# --- the state, in the emulator process ------------------------------------------------------


@dataclass
class _Active:
    kind: Kind
    until: float
    injected: int = 0


class FaultInjector:
    """WSGI middleware: the control endpoint plus the errors for services that are down."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._app = app
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, _Active] = {}
        self.injected: dict[str, int] = dict.fromkeys(SERVICES, 0)  # since the emulator started

    def faults(self) -> list[Fault]:
        now = self._clock()
        with self._lock:
            return [
                Fault(
                    service=s,
                    kind=a.kind,
                    remaining_seconds=round(a.until - now, 1),
                    injected=a.injected,
                )
                for s, a in sorted(self._active.items())
                if a.until > now
            ]

    def set(self, request: FaultRequest) -> Fault:
        with self._lock:
            self._active[request.service] = _Active(request.kind, self._clock() + request.seconds)
        return Fault(service=request.service, kind=request.kind, remaining_seconds=request.seconds)

    def clear(self, service: str | None = None) -> None:
        with self._lock:
            if service is None:
                self._active.clear()
            else:
                self._active.pop(service, None)

    def _fault_for(self, service: str | None) -> _Active | None:
        if service is None:
            return None
        with self._lock:
            active = self._active.get(service)
            if active is None or active.until <= self._clock():
                return None
            active.injected += 1
            self.injected[service] = self.injected.get(service, 0) + 1
            return active

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == FAULTS_PATH:
            status, headers, body = self._control(environ)
            start_response(status, headers)
            return [body]
        service = service_of(environ)
        active = self._fault_for(service)
        if active is None or service is None:
            return self._app(environ, start_response)
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))  # drain the body
        status, headers, body = error_response(service, active.kind, environ)
        start_response(status, headers)
        return [body]

    def _control(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if method == "POST":
                raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                fault = self.set(FaultRequest.model_validate_json(raw))
                return _json("200 OK", fault.model_dump(mode="json", by_alias=True))
            if method == "DELETE":
                query = dict(
                    p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p
                )
                self.clear(query.get("service"))
        except ValueError as exc:
            return _json("400 Bad Request", {"error": str(exc)})
        faults = [f.model_dump(mode="json", by_alias=True) for f in self.faults()]
        with self._lock:
            injected = dict(self.injected)
        return _json("200 OK", {"faults": faults, "injected": injected})


def _json(status: str, document: Any) -> Response:
    return status, [("Content-Type", "application/json")], json.dumps(document).encode()


# --- the client half (`oms faults`, the demo scenarios, tests) -------------------------------


class FaultsUnreachableError(Exception):
    """No local emulator answers at the endpoint."""


def _call(endpoint: str, method: str, body: dict[str, Any] | None = None, query: str = "") -> Any:
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"not an http endpoint: {endpoint}")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        f"{endpoint.rstrip('/')}{FAULTS_PATH}{query}", data=data, method=method,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            raise ValueError(json.load(exc).get("error", "bad request")) from None
        if exc.code == 404:
            raise FaultsUnreachableError(
                f"{endpoint} is not the local emulator (no fault API)"
            ) from None
        raise
    except OSError as exc:
        raise FaultsUnreachableError(f"no local emulator at {endpoint} ({exc})") from None


def set_fault(endpoint: str, service: str, seconds: float, kind: str = "unavailable") -> Fault:
    request = FaultRequest.model_validate({"service": service, "seconds": seconds, "kind": kind})
    return Fault.model_validate(_call(endpoint, "POST", request.model_dump()))


def clear_faults(endpoint: str, service: str | None = None) -> None:
    _call(endpoint, "DELETE", query=f"?service={service}" if service else "")


def list_faults(endpoint: str) -> list[Fault]:
    return [Fault.model_validate(f) for f in _call(endpoint, "GET")["faults"]]


def injected_errors(endpoint: str) -> dict[str, int]:
    """How many calls each service answered with an injected error since the emulator started."""
    return {str(k): int(v) for k, v in _call(endpoint, "GET")["injected"].items()}

"""Process-wide logging set-up, called once by each entry point.

JSON lines in AWS (CloudWatch Logs Insights can query them), plain text locally. Log order ids,
never names, emails, addresses or payment tokens.
"""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from oms.config import Settings
from oms.redaction import EmailRedactingFilter

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(settings: Settings, *, service: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(LambdaPowertoolsFormatter(service=service))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    # On the handler, not a logger: records of every logger (the SDK's, botocore's) pass here.
    handler.addFilter(EmailRedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # boto and grpc are chatty at INFO and can echo request details.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""No customer address in any log line: a redaction every process's logging goes through.

`EmailRedactingFilter` sits on the process's log handler (`oms.logs.configure_logging`), so it
sees every record, also from the SDK and botocore (an SES error names the recipient, the SDK
logs a failed activity with its exception). It rewrites the message and the exception's text;
the exception's chain is dropped from the record (its text is what would leak).
"""

from __future__ import annotations

import logging
import re
from typing import Final

# Wide on purpose (no validation): anything address-shaped goes.
EMAIL: Final = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
REDACTED: Final = "<email>"


def redact_emails(text: str) -> str:
    return EMAIL.sub(REDACTED, text)


class RedactedError(Exception):
    """Stands in for a logged exception whose text named an address."""


class EmailRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_emails(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            kind, error, trace = record.exc_info
            text = str(error)
            if redact_emails(text) != text:
                # The type's name stays (formatters print it); the text is the redacted one.
                stand_in = RedactedError(redact_emails(text))
                record.exc_info = (kind, stand_in, trace)
                record.exc_text = None
        if record.exc_text:
            record.exc_text = redact_emails(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_emails(record.stack_info)
        return True

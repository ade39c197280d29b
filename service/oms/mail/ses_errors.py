"""What an SES refusal means for the email: final, or a problem of ours that a person fixes.

SES answers `MessageRejected` both for a refused recipient and for an unverified sender (or, in
the sandbox, an unverified recipient); reading it as "bad address" would silently drop every
email of a misconfigured stack. So: only a refusal that names the address is final; a sender,
account or configuration problem is retried (Temporal, with backoff; the order shows
NEEDS_ATTENTION after a while) and counted for the `EmailsBlocked` alarm; anything else
(throttling, an outage) is a plain retry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from botocore.exceptions import ClientError

from oms.redaction import redact_emails


class SesRefusal(StrEnum):
    ADDRESS = "address"  # final: the recipient's address is refused for good
    CONFIGURATION = "configuration"  # ours to fix: sender, account, sandbox, IAM; retried
    TRANSIENT = "transient"  # throttling, an outage: retried


# Codes that are always a problem of the sender's side, whatever the message says.
CONFIGURATION_CODES: Final = frozenset(
    {
        "AccessDeniedException",  # IAM, or the sandbox refusing an unverified identity
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",  # the configuration set does not exist
    }
)
# Codes whose message decides: SES uses them for refused addresses and for our mistakes.
AMBIGUOUS_CODES: Final = frozenset({"MessageRejected", "BadRequestException"})
# Phrases that mark a problem of the sending side in those messages.
NOT_ABOUT_THE_ADDRESS: Final = ("not verified", "sandbox", "configuration set", "virus")


def classify(error: ClientError) -> SesRefusal:
    details = error.response.get("Error", {})
    code, message = details.get("Code", ""), details.get("Message", "").lower()
    if code in CONFIGURATION_CODES:
        return SesRefusal.CONFIGURATION
    if code in AMBIGUOUS_CODES:
        if any(phrase in message for phrase in NOT_ABOUT_THE_ADDRESS):
            return SesRefusal.CONFIGURATION
        if "address" in message or "domain" in message or "@" in message:
            return SesRefusal.ADDRESS
        return SesRefusal.CONFIGURATION  # unknown: a person looks rather than drop the email
    return SesRefusal.TRANSIENT


class EmailBlockedError(RuntimeError):
    """SES refused to send for a reason on our side; retried until a person fixes it. The
    message keeps SES's code and reason with any address redacted (it reaches logs)."""

    def __init__(self, error: ClientError) -> None:
        details = error.response.get("Error", {})
        self.code = details.get("Code", "Unknown")
        super().__init__(
            f"SES refused to send ({self.code}): {redact_emails(details.get('Message', ''))}"
        )

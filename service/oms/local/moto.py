"""What the local AWS emulator (moto in server mode) saw: the emails it 'sent'."""

from __future__ import annotations

import json
import urllib.request

from pydantic import BaseModel

# Served by `oms.local.emulator` (sent emails only; moto's `/moto-api/data.json` dumps every
# service's whole state, which takes longer than a person waits after a few hundred orders).
SENT_EMAILS_PATH = "/oms-emulator/sent-emails"


class SentEmail(BaseModel):
    message_id: str
    to: list[str]
    subject: str


def sent_emails(endpoint: str) -> list[SentEmail]:
    """Every email SES accepted, from the local emulator's sent-emails endpoint."""
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"not an http endpoint: {endpoint}")
    url = f"{endpoint.rstrip('/')}{SENT_EMAILS_PATH}"
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - scheme checked above
        messages = json.load(r)
    return [
        SentEmail(
            message_id=message["id"],
            to=list(message.get("destinations", {}).get("ToAddresses", [])),
            subject=message.get("subject", ""),
        )
        for message in messages
    ]

"""What the local AWS emulator (moto in server mode) saw: the emails it 'sent'."""

from __future__ import annotations

import json
import urllib.request

from pydantic import BaseModel


class SentEmail(BaseModel):
    message_id: str
    to: list[str]
    subject: str


def sent_emails(endpoint: str) -> list[SentEmail]:
    """Every email SES accepted, read from moto's state endpoint (`/moto-api/data.json`)."""
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"not an http endpoint: {endpoint}")
    url = f"{endpoint.rstrip('/')}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - scheme checked above
        data = json.load(r)
    return [
        SentEmail(
            message_id=message["id"],
            to=list(message.get("destinations", {}).get("ToAddresses", [])),
            subject=message.get("subject", ""),
        )
        for message in data.get("ses", {}).get("Message", [])
    ]

"""Transport: a digest as a multipart e-mail, through SMTP or into the outbox folder; a webhook POST.

Delivery bookkeeping (what counts as sent) belongs to the caller and the store: this module only
sends, and raises DeliveryError when it could not.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import requests

from .clock import utcnow
from .config import Config, ConfigError
from .errors import NewswatchError
from .failpoints import checkpoint


class DeliveryError(NewswatchError):
    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        # The server answered 5xx to this message's content: a retry of the same bytes may well
        # be refused again, while other messages may pass.
        self.refused = refused


def new_message_id(sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1] or "newswatch.invalid"
    return make_msgid(idstring="newswatch-digest", domain=domain)


def build_message(cfg: Config, subject: str, text: str, html: str, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.digest.from_
    msg["To"] = ", ".join(cfg.digest.to)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    msg["X-Newswatch"] = "digest"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send(msg: EmailMessage, cfg: Config, name: str) -> tuple[str, str | None, str | None]:
    """Send through SMTP if [smtp] host is set, else write NAME.eml into the outbox.

    Returns (transport, outbox path or None, a note such as the recipients the server refused).
    """
    if cfg.smtp.host:
        refused = send_smtp(msg, cfg)
        note = f"the server refused these recipients: {', '.join(sorted(refused))}" if refused else None
        return "smtp", None, note
    return "outbox", str(write_outbox(msg, Path(cfg.digest.outbox), name)), None


def send_smtp(msg: EmailMessage, cfg: Config) -> dict:
    """Send; returns the recipients the server refused while accepting the message for the others
    (raises DeliveryError if it accepted it for nobody)."""
    s = cfg.smtp
    try:
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with client:
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                cfg.check_smtp_password()
                client.login(s.username, cfg.smtp_password())
            return client.send_message(msg)
    except ConfigError as e:
        raise DeliveryError(str(e)) from None
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"SMTP {s.host}:{s.port} refused every recipient: {', '.join(e.recipients)}") from None
    except smtplib.SMTPResponseException as e:
        err = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        # 5xx to the content, or 552 (too big) to MAIL FROM when the server announced SIZE
        refused = ((isinstance(e, smtplib.SMTPDataError) and 500 <= e.smtp_code < 600)
                   or (isinstance(e, smtplib.SMTPSenderRefused) and e.smtp_code == 552))
        raise DeliveryError(f"SMTP {s.host}:{s.port} answered {e.smtp_code} {err}", refused) from None
    except smtplib.SMTPException as e:
        raise DeliveryError(f"SMTP {s.host}:{s.port}: {e}") from None
    except TimeoutError:
        raise DeliveryError(f"SMTP {s.host}:{s.port}: timed out") from None
    except (OSError, ssl.SSLError) as e:
        raise DeliveryError(f"SMTP {s.host}:{s.port}: {e.strerror or e}") from None


def post_webhook(url: str, payload: dict, timeout: float, user_agent: str, key: str) -> None:
    """POST JSON; any answer but 2xx is a failure. `key` lets the receiver drop a repeat."""
    try:
        resp = requests.post(url, json=payload, timeout=timeout, allow_redirects=False,
                             headers={"User-Agent": user_agent, "Idempotency-Key": key})
    except requests.RequestException as e:
        raise DeliveryError(f"webhook {url}: {type(e).__name__}") from None
    if not 200 <= resp.status_code < 300:
        raise DeliveryError(f"webhook {url} answered HTTP {resp.status_code}")


def write_outbox(msg: EmailMessage, outbox: Path, name: str) -> Path:
    """Write atomically; the same name is rewritten, so a retried digest never makes a second file."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{name}.eml"
        tmp = outbox / f".{name}.eml.tmp"
        with open(tmp, "wb") as f:
            f.write(msg.as_bytes())
            f.flush()
            os.fsync(f.fileno())
        checkpoint("outbox.written")
        tmp.replace(path)
    except OSError as e:
        raise DeliveryError(f"outbox {outbox}: {e.strerror or e}") from None
    return path

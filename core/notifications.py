"""Sending a message out: a webhook (a JSON POST with a `text` field, which Slack and Microsoft Teams
incoming webhooks accept) or an e-mail through SMTP (the SMTP_* settings), each within
NOTIFY_TIMEOUT_SECONDS whatever the receiver does; and the messages' language.

A failure raises DeliveryError with a reason in plain words that never carries the webhook's URL nor
the mail server's credentials (they are secrets: an admin's, never logged, never shown elsewhere).
"""
from __future__ import annotations

import gettext
import json
import smtplib
import socket
import ssl
import threading
import urllib.error
import urllib.request
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from core.config import Settings
from core.messages import N_, Count, Text, TextError

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
MAX_ANSWER_BYTES = 64 * 1024  # of a webhook's answer, read and dropped


class DeliveryError(TextError):
    """A message could not be delivered; str() is the reason in English (stored with the delivery,
    safe to show: never a URL nor a credential), `text` the same for the user's language."""


# Why a delivery failed: the delivery keeps the English text, the pages say it in the user's language.
REASONS = (
    N_("no answer within {timeout} s"),
    N_("the receiver answered HTTP {code}"),
    N_("the mail server refused the login (SMTP {code})"),
    N_("the mail server refused the message (SMTP {code})"),
    N_("the mail server refused every recipient"),
    N_("the mail server failed ({kind})"),
    N_("the connection was refused"),
    N_("the host name does not resolve"),
    N_("the TLS handshake failed"),
    N_("cannot connect ({kind})"),
    N_("SMTP_HOST is not set: e-mail cannot be sent"),
    N_("the rule has no webhook any more"),
)


# --- the messages' language ----------------------------------------------------------------------

@cache
def _catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (`make` compiles them; without one, English)."""
    return gettext.translation("messages", localedir=LOCALE_DIR, languages=[language], fallback=True)


def render(text: Text, *, language: str) -> str:
    """A core Text in `language` (the LANGUAGE setting for alerts): its template through the catalogs,
    counts grouped and ratios as percentages in the language's convention."""
    values = {}
    for name, value in text.values.items():
        if isinstance(value, Text):
            value = render(value, language=language)
        elif isinstance(value, Count):
            value = format_decimal(int(value), "#,##0", locale=language)
        elif isinstance(value, Ratio):
            value = "-" if value.value is None else format_percent(value.value, "#,##0.0%", locale=language)
        elif isinstance(value, Day):
            value = format_date(value.value, "short", locale=language)
        values[name] = value
    return _catalog(language).gettext(text.template).format(**values)


class Ratio:
    """A ratio in a Text (an SLA): written as a percentage in the message's language; None is -."""

    def __init__(self, value: float | None):
        self.value = value

    def __format__(self, spec: str) -> str:
        return "-" if self.value is None else format(self.value, ".1%")


class Day:
    """A date in a Text: written in the message's language's short form."""

    def __init__(self, value):
        self.value = value

    def __format__(self, spec: str) -> str:
        return self.value.isoformat()


# --- channels ------------------------------------------------------------------------------------

def check_webhook_url(url: str) -> str:
    """The URL stripped, or ValueError when it is not an http(s) address with a host."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http:// or https:// address")
    return url


def webhook_host(url: str) -> str:
    """What may be shown of a webhook: its scheme and host (the path holds the secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def _bounded(send: Callable[[], None], timeout: float) -> None:
    """Run `send` and wait at most timeout + 1 s for it: a receiver that answers a byte at a time
    cannot hold the caller longer than that (the thread is left to its own socket timeout)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            send()
        except BaseException as exc:  # noqa: BLE001 - carried to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True, name="notify")
    worker.start()
    worker.join(timeout + 1)
    if worker.is_alive():
        raise DeliveryError(N_("no answer within {timeout} s"), timeout=timeout)
    if failure:
        raise failure[0]


def _reason(exc: BaseException, timeout: float) -> DeliveryError:
    """A failure in plain words (REASONS), without the URL or anything the exception's text may quote."""
    if isinstance(exc, urllib.error.HTTPError):
        return DeliveryError(N_("the receiver answered HTTP {code}"), code=exc.code)
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in str(getattr(exc, "reason", "")):
        return DeliveryError(N_("no answer within {timeout} s"), timeout=timeout)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(N_("the mail server refused the login (SMTP {code})"), code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(N_("the mail server refused the message (SMTP {code})"), code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return DeliveryError(N_("the mail server refused every recipient"))
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryError(N_("the mail server failed ({kind})"), kind=type(exc).__name__)
    cause = getattr(exc, "reason", exc)
    if isinstance(cause, ConnectionRefusedError):
        return DeliveryError(N_("the connection was refused"))
    if isinstance(cause, socket.gaierror):
        return DeliveryError(N_("the host name does not resolve"))
    if isinstance(cause, ssl.SSLError):
        return DeliveryError(N_("the TLS handshake failed"))
    return DeliveryError(N_("cannot connect ({kind})"), kind=type(cause).__name__)


def post_webhook(url: str, *, text: str, timeout: float) -> None:
    """POST {"text": text} as JSON; a 2xx answer is delivered, anything else raises DeliveryError."""
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(check_webhook_url(url), data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "logistics-indicators-alerts"})

    def send() -> None:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) checked above
            answer.read(MAX_ANSWER_BYTES)

    try:
        _bounded(send, timeout)
    except DeliveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a plain reason
        raise _reason(exc, timeout) from None


def send_email(settings: Settings, *, to: list[str], subject: str, text: str,
               attachment: tuple[str, str] | None = None) -> None:
    """Send a plain-text e-mail (with a CSV attachment (name, content)) through SMTP_HOST."""
    if not settings.smtp_host:
        raise DeliveryError(N_("SMTP_HOST is not set: e-mail cannot be sent"))
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.smtp_from, ", ".join(to)
    message.set_content(text)
    if attachment:
        name, content = attachment
        message.add_attachment(content.encode("utf-8"), maintype="text", subtype="csv", filename=name)
    timeout = settings.notify_timeout_seconds

    def send() -> None:
        secure = settings.smtp_tls == "SSL"
        connect: Any = smtplib.SMTP_SSL if secure else smtplib.SMTP
        options = {"context": ssl.create_default_context()} if secure else {}
        with connect(settings.smtp_host, settings.smtp_port, timeout=timeout, **options) as server:
            if settings.smtp_tls == "STARTTLS":
                server.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password or "")
            server.send_message(message)

    try:
        _bounded(send, timeout)
    except DeliveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a plain reason (never the password)
        raise _reason(exc, timeout) from None

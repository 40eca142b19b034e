"""Mail through the agency's SMTP server (docs/deploy.md, "Notifications").

The settings come from the environment, shared by the app processes and `manage.py notify`:

- PANTAU_SMTP_URL: `smtp://[user:password@]host:port` (STARTTLS whenever the server offers
  it; a password is never sent unencrypted) or `smtps://...` (TLS from the first byte);
- PANTAU_MAIL_FROM: the sender's address, `pantau@dinas.go.id` (shown as "Pantau SOP"), or
  with a name of its own, `Dinas Perpustakaan <pantau@dinas.go.id>`;
- PANTAU_BASE_URL: the site's address, for the links in a message.

The server's certificate is checked against the system's CAs (a private CA: point
SSL_CERT_FILE at its certificate). Messages are built and sent with the standard library
(email, smtplib): no dependency.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from services.errors import InvalidInput, ServiceError
from services.formatting import WIB

SMTP_URL_ENV = "PANTAU_SMTP_URL"
MAIL_FROM_ENV = "PANTAU_MAIL_FROM"
BASE_URL_ENV = "PANTAU_BASE_URL"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SMTP_TIMEOUT_SECONDS = 30
MAX_ADDRESS_LENGTH = 200  # app_user.email
# The sender's name when PANTAU_MAIL_FROM gives only an address: an environment file read by
# `env $(cat ...)` (docs/deploy.md) cannot hold a value with spaces.
SENDER_NAME = "Pantau SOP"

# What every SMTP server accepts: an ASCII local part (RFC 5322 dot-atom) and a domain of
# letters, digits and hyphens with a top-level domain of letters.
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TOP_LEVEL = re.compile(r"^[A-Za-z]{2,63}$")
_ADDRESS_SHAPE = ("Alamat surel harus berbentuk nama@domain, misalnya budi.santoso@dinas.go.id "
                  "(huruf Latin tanpa spasi).")


def normalise_address(text: str | None) -> str | None:
    """An email address as a user typed it: trimmed, the domain in lower case; None when empty.
    Anything that is not name@domain.tld in plain ASCII is refused with what to type."""
    address = (text or "").strip()
    if not address:
        return None
    if len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidInput(f"Alamat surel terlalu panjang (maksimal {MAX_ADDRESS_LENGTH} "
                           "karakter).")
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (not at or len(local) > 64 or not _LOCAL_PART.match(local) or len(labels) < 2
            or not all(_DOMAIN_LABEL.match(label) for label in labels)
            or not _TOP_LEVEL.match(labels[-1])):
        raise InvalidInput(_ADDRESS_SHAPE)
    return f"{local}@{domain.lower()}"


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    scheme: str  # "smtp" (STARTTLS when offered) or "smtps" (implicit TLS)
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def shown_url(self) -> str:
        """The URL as configured, without the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"

    @property
    def security(self) -> str:
        if self.scheme == "smtps":
            return "TLS sejak awal sambungan (smtps)"
        return "STARTTLS bila server menawarkannya (wajib bila ada kata sandi)"


@dataclass(frozen=True)
class MailSettings:
    """The mail settings in force. `problems` says, in Indonesian, what is missing or wrong."""

    server: SmtpServer | None
    sender: str | None  # PANTAU_MAIL_FROM as written
    sender_address: str | None
    base_url: str | None
    problems: tuple[str, ...]

    def require_complete(self) -> None:
        """Refuse to send while something is missing (the first problem says what)."""
        if self.problems:
            raise InvalidInput(self.problems[0])


def _server(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise InvalidInput(f"{SMTP_URL_ENV} harus diawali smtp:// atau smtps://, misalnya "
                           "smtp://pantau:sandi@mail.dinas.go.id:587.")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise InvalidInput(f"Nomor port di {SMTP_URL_ENV} tidak sah; tulis angka 1-65535 "
                           "setelah nama server, misalnya :587.") from None
    if not parts.hostname:
        raise InvalidInput(f"{SMTP_URL_ENV} tidak menyebut nama server, misalnya "
                           "smtp://mail.dinas.go.id:587.")
    return SmtpServer(scheme=parts.scheme, host=parts.hostname, port=port,
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password is not None else None)


def mail_settings(environ: Mapping[str, str] | None = None) -> MailSettings:
    """The settings of the environment (the process's own by default), never raising: what is
    wrong is listed in `problems`."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    server = None
    url = env.get(SMTP_URL_ENV, "").strip()
    if not url:
        problems.append(f"{SMTP_URL_ENV} belum diatur: alamat server surel, misalnya "
                        "smtp://pantau:sandi@mail.dinas.go.id:587.")
    else:
        try:
            server = _server(url)
        except InvalidInput as error:
            problems.append(str(error))
    sender = env.get(MAIL_FROM_ENV, "").strip() or None
    sender_address = None
    if sender is None:
        problems.append(f"{MAIL_FROM_ENV} belum diatur: alamat pengirim, misalnya "
                        "Pantau SOP <pantau@dinas.go.id>.")
    else:
        name, written = parseaddr(sender)
        try:
            sender_address = normalise_address(written)
        except InvalidInput:
            sender_address = None
        if sender_address is not None and not name:
            sender = formataddr((SENDER_NAME, sender_address))
        if sender_address is None:
            problems.append(f"{MAIL_FROM_ENV} bukan alamat surel yang sah; contoh: "
                            "Pantau SOP <pantau@dinas.go.id>.")
    base_url = env.get(BASE_URL_ENV, "").strip().rstrip("/") or None
    if base_url is None:
        problems.append(f"{BASE_URL_ENV} belum diatur: alamat situs untuk tautan di surel, "
                        "misalnya https://pantau.dinas.go.id.")
    elif urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
        problems.append(f"{BASE_URL_ENV} harus diawali https:// (atau http://) dan menyebut "
                        "nama situs, misalnya https://pantau.dinas.go.id.")
        base_url = None
    return MailSettings(server=server, sender=sender, sender_address=sender_address,
                        base_url=base_url, problems=tuple(problems))


# --- messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """One message to one person: an HTML body with its plain-text equivalent."""

    to_name: str
    to_address: str
    subject: str
    text: str
    html: str


def build_message(letter: Letter, *, sender: str, sender_address: str,
                  now: datetime) -> EmailMessage:
    """The message as sent: multipart/alternative (text, then HTML), with Date and Message-ID;
    headers that are not ASCII (the subject, a name) are RFC 2047 encoded."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = Address(display_name=letter.to_name, addr_spec=letter.to_address)
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(now.astimezone(WIB))
    message["Message-ID"] = make_msgid(idstring="pantau-sop",
                                       domain=sender_address.rpartition("@")[2])
    # RFC 3834: out-of-office replies and the like are not sent back to an automatic message.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps the message 7-bit: any server relays it unchanged.
    message.set_content(letter.text, cte="quoted-printable")
    message.add_alternative(letter.html, subtype="html", cte="quoted-printable")
    return message


# --- sending ----------------------------------------------------------------------------------


class MailServerError(ServiceError):
    """The SMTP server could not be reached, or refused the session: nothing was sent."""


def _server_refusal(error: BaseException, server: SmtpServer) -> str:
    where = server.where
    if isinstance(error, ssl.SSLCertVerificationError):
        return (f"sertifikat TLS server surel {where} tidak dipercaya "
                f"({error.verify_message}); pasang sertifikat CA-nya lewat SSL_CERT_FILE atau "
                "perbaiki sertifikat server")
    if isinstance(error, ssl.SSLError):
        return f"sambungan TLS ke server surel {where} gagal ({error.reason or error})"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (f"server surel {where} menolak nama pengguna atau kata sandi di {SMTP_URL_ENV} "
                f"({error.smtp_code})")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"server surel {where} tidak menerima login; hapus nama pengguna dari {SMTP_URL_ENV}"
    if isinstance(error, smtplib.SMTPResponseException):
        return (f"server surel {where} menolak sambungan ({error.smtp_code} "
                f"{_text(error.smtp_error)})")
    if isinstance(error, socket.gaierror):
        return f"nama server surel {server.host} tidak dikenal"
    if isinstance(error, TimeoutError):
        return f"server surel {where} tidak menjawab dalam {SMTP_TIMEOUT_SECONDS} detik"
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return f"server surel {where} tidak dapat dihubungi ({reason})"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


@contextmanager
def smtp_session(server: SmtpServer) -> Iterator[smtplib.SMTP]:
    """A logged-in SMTP session, or MailServerError saying in Indonesian why not."""
    context = ssl.create_default_context()
    client: smtplib.SMTP | None = None
    try:
        if server.scheme == "smtps":
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS,
                                      context=context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif server.username:
                raise MailServerError(
                    f"server surel {server.where} tidak menawarkan STARTTLS: kata sandi tidak "
                    "dikirim tanpa enkripsi; pakai smtps:// atau server yang mendukung TLS")
        if server.username:
            client.login(server.username, server.password or "")
    except MailServerError:
        _close(client)
        raise
    except (smtplib.SMTPException, OSError) as error:
        _close(client)
        raise MailServerError(_server_refusal(error, server)) from error
    try:
        yield client
    finally:
        _close(client)


def _close(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


@dataclass(frozen=True)
class Delivery:
    index: int  # of the message in what was given
    error: str | None  # None: the server accepted it


def _message_refusal(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = "; ".join(f"{code} {_text(reply)}"
                             for code, reply in error.recipients.values())
        return f"alamat penerima ditolak server ({refusals})"
    if isinstance(error, smtplib.SMTPSenderRefused):
        return f"alamat pengirim ditolak server ({error.smtp_code} {_text(error.smtp_error)})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"pesan ditolak server ({error.smtp_code} {_text(error.smtp_error)})"
    return f"sambungan ke server surel terputus ({error})"


def deliver(server: SmtpServer, messages: Sequence[EmailMessage]) -> Iterator[Delivery]:
    """Send each message in one SMTP session, reporting each as it goes (so the caller can
    record what went before the next is tried). MailServerError before the first when the
    server cannot be reached; a message the server refuses fails alone; when the session
    breaks, the rest fail too."""
    with smtp_session(server) as client:
        broken: str | None = None
        for index, message in enumerate(messages):
            if broken is not None:
                yield Delivery(index, broken)
                continue
            try:
                client.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError) as error:
                yield Delivery(index, _message_refusal(error))
                continue
            except (smtplib.SMTPException, OSError) as error:
                broken = _message_refusal(error)
                yield Delivery(index, broken)
                continue
            yield Delivery(index, None)


def send_one(server: SmtpServer, message: EmailMessage) -> None:
    """One message in its own session; MailServerError says why it did not go."""
    for delivery in deliver(server, [message]):
        if delivery.error is not None:
            raise MailServerError(delivery.error)

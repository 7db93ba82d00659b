"""Email alerts over SMTP (STARTTLS when set), one connection per message."""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from .base import ChannelSettings, Outgoing, SendError, Sent, mask_address

log = logging.getLogger(__name__)


class EmailChannel:
    """Sends an Outgoing as a plain-text UTF-8 email; its Message-ID is the provider id."""

    def __init__(self, settings: ChannelSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock

    def send(self, outgoing: Outgoing) -> Sent:
        if not (self.settings.smtp_host and self.settings.smtp_from):
            raise SendError("email: SMTP_HOST and SMTP_FROM are not set", retryable=False)
        address = parseaddr(outgoing.to)[1]
        if "@" not in address or address != outgoing.to.strip():
            raise SendError("email: the recipient is not an email address", retryable=False)
        message = self.compose(outgoing)
        error = self._deliver(message)
        if error is not None:
            # Raised outside the except blocks: smtplib's messages quote the addresses.
            log.warning("email to %s failed: %s", mask_address("email", outgoing.to), error)
            raise error
        log.info("email %s to %s: sent", message["Message-ID"],
                 mask_address("email", outgoing.to))
        return Sent(provider_id=message["Message-ID"], status="sent")

    def compose(self, outgoing: Outgoing) -> EmailMessage:
        """The message as it will be sent (UTF-8, quoted-printable: safe on any relay)."""
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = outgoing.to
        message["Subject"] = outgoing.subject
        message["Date"] = formatdate(self.clock(), usegmt=True)
        # Short enough for the outbox's provider_id column; random, so it names nothing.
        domain = parseaddr(self.settings.smtp_from)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<{secrets.token_hex(12)}@{domain}>"
        # RFC 3834: tells autoresponders (out-of-office) not to answer an alert.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(outgoing.text, charset="utf-8", cte="quoted-printable")
        return message

    def _deliver(self, message: EmailMessage) -> SendError | None:
        settings, sending = self.settings, False
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                              timeout=settings.timeout) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password)
                sending = True
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            return _reply_error(codes[0] if codes else 550)
        except smtplib.SMTPResponseException as exc:
            return _reply_error(exc.smtp_code)
        except smtplib.SMTPServerDisconnected:
            return SendError("email: the SMTP server closed the connection",
                             retryable=True, maybe_sent=sending)
        except smtplib.SMTPException as exc:  # STARTTLS or AUTH not offered: settings
            return SendError(f"email: SMTP refused the session ({type(exc).__name__})",
                             retryable=False)
        except ssl.SSLCertVerificationError:
            return SendError("email: the SMTP server's certificate is not trusted",
                             retryable=False)
        except TimeoutError:
            return SendError(f"email: no answer from SMTP within {settings.timeout:g} s",
                             retryable=True, maybe_sent=sending)
        except OSError as exc:
            return SendError(f"email: cannot reach the SMTP server ({type(exc).__name__})",
                             retryable=True)
        return None


def _reply_error(code: int) -> SendError:
    # 4xx is "try again later" in SMTP; 5xx is final (no such mailbox, refused).
    return SendError(f"email: SMTP answered {code}", retryable=400 <= code < 500,
                     status=code)

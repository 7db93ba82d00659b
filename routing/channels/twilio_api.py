"""SMS and alert calls through Twilio's Messages and Calls APIs, with the official library.

The library has no setting for its base address, so :class:`ApiBaseHttpClient` (its own
HTTP client, subclassed) sends what it would send to api.twilio.com to
``TWILIO_API_BASE`` instead. Production leaves the default; tests point it at a local
fake. One mechanism for both, so the tests exercise the code that runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.call import CallInstance
from twilio.rest.api.v2010.account.message import MessageInstance

from .base import ChannelSettings, Outgoing, SendError, Sent, mask_address

log = logging.getLogger(__name__)

E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
# api.twilio.com, and the edge/region forms the library builds (api.sydney.au1.twilio.com).
_API_HOST_RE = re.compile(r"api(\.[a-z0-9-]+)*\.twilio\.com")
RING_SECONDS = 30  # long enough for a phone to be found in a pocket; then "no-answer"
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
_RETRYABLE_STATUSES = frozenset({408, 429})
# requests errors that say the URL itself is wrong: retrying cannot help.
_CONFIG_ERRORS = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                  requests.exceptions.InvalidSchema)


class ApiBaseHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending API requests to ``api_base`` with a timeout."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = urlsplit(api_base.rstrip("/"))

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        return super().request(method, self.rewrite(url), params=params, data=data,
                               headers=headers, auth=auth, timeout=timeout,
                               allow_redirects=allow_redirects)

    def rewrite(self, url: str) -> str:
        """``url`` with a Twilio API host replaced by the configured base (path kept)."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not _API_HOST_RE.fullmatch(parts.hostname or ""):
            return url
        base = self.api_base
        return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query,
                           parts.fragment))

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class TwilioChannel:
    """SMS and calls through one Twilio client, built on first use so that a deployment
    without Twilio can still send email and webhooks."""

    def __init__(self, settings: ChannelSettings) -> None:
        self.settings = settings
        self._http: ApiBaseHttpClient | None = None
        self._client: Client | None = None

    def send_sms(self, outgoing: Outgoing) -> Sent:
        return self._create("sms", outgoing, lambda client: client.messages.create(
            to=outgoing.to, body=outgoing.text, status_callback=outgoing.status_callback,
            **self._sender()))

    def send_call(self, outgoing: Outgoing) -> Sent:
        return self._create("call", outgoing, lambda client: client.calls.create(
            to=outgoing.to, from_=self._caller_id(), url=outgoing.call_url,
            method="POST", status_callback=outgoing.status_callback,
            status_callback_event=list(CALL_EVENTS) if outgoing.status_callback else None,
            status_callback_method="POST", timeout=RING_SECONDS))

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _sender(self) -> dict[str, str]:
        # A messaging service picks the sender itself (and holds a registered brand name).
        if self.settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
        if self.settings.twilio_number:
            return {"from_": self.settings.twilio_number}
        raise SendError("sms: set TWILIO_NUMBER or TWILIO_MESSAGING_SERVICE_SID",
                        retryable=False)

    def _caller_id(self) -> str:
        if not self.settings.twilio_number:
            raise SendError("call: TWILIO_NUMBER is not set", retryable=False)
        return self.settings.twilio_number

    def _create(self, channel: str, outgoing: Outgoing,
                create: Callable[[Client], MessageInstance | CallInstance]) -> Sent:
        if not E164_RE.fullmatch(outgoing.to):
            raise SendError(f"{channel}: the recipient is not an E.164 number",
                            retryable=False)
        client = self._client_or_error(channel)
        error = None
        try:
            resource = create(client)
        except TwilioRestException as exc:
            error = _rest_error(channel, exc)
        except requests.RequestException as exc:
            error = _transport_error(channel, exc, self.settings.timeout)
        except TwilioException as exc:  # an answer the library could not read
            error = SendError(f"{channel}: unreadable answer from Twilio "
                              f"({type(exc).__name__})", retryable=True, maybe_sent=True)
        if error is not None:
            # Raised outside the except blocks, so no traceback carries the library's own
            # message, which quotes the number ("The 'To' number +84... is not valid").
            log.warning("%s to %s failed: %s", channel, mask_address(channel, outgoing.to),
                        error)
            raise error
        log.info("%s %s to %s: %s", channel, resource.sid,
                 mask_address(channel, outgoing.to), resource.status)
        return Sent(provider_id=resource.sid, status=str(resource.status))

    def _client_or_error(self, channel: str) -> Client:
        if self._client is None:
            if not (self.settings.twilio_account_sid and self.settings.twilio_auth_token):
                raise SendError(f"{channel}: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are "
                                "not set", retryable=False)
            self._http = ApiBaseHttpClient(self.settings.twilio_api_base,
                                           self.settings.timeout)
            self._client = Client(
                self.settings.twilio_account_sid, self.settings.twilio_auth_token,
                http_client=self._http,
                # The library reads TWILIO_EDGE/TWILIO_REGION from `environment`, and an
                # empty mapping would make it fall back to os.environ: hand it ours.
                environment={"TWILIO_ACCOUNT_SID": self.settings.twilio_account_sid})
        return self._client


def _rest_error(channel: str, exc: TwilioRestException) -> SendError:
    status = int(exc.status)
    retryable = status >= 500 or status in _RETRYABLE_STATUSES
    code = exc.code if isinstance(exc.code, int) else None
    return SendError(f"{channel}: Twilio answered HTTP {status}"
                     + (f", error {code}" if code else ""),
                     retryable=retryable, status=status, code=code)


def _transport_error(channel: str, exc: requests.RequestException,
                     timeout: float) -> SendError:
    if isinstance(exc, _CONFIG_ERRORS):
        return SendError(f"{channel}: TWILIO_API_BASE is not a usable URL "
                         f"({type(exc).__name__})", retryable=False)
    if isinstance(exc, requests.Timeout):
        return SendError(f"{channel}: no answer from Twilio within {timeout:g} s "
                         f"({type(exc).__name__})", retryable=True,
                         maybe_sent=not isinstance(exc, requests.ConnectTimeout))
    return SendError(f"{channel}: cannot reach Twilio ({type(exc).__name__})",
                     retryable=True)

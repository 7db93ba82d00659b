"""Notification channels: SMS and voice calls (Twilio), email (SMTP), signed webhooks.

One interface for all of them: build :class:`Channels` from the settings, then
``send(Outgoing(...)) -> Sent`` or a :class:`SendError` saying whether a retry may help.
Each adapter is small and knows one provider; none of them knows about tips, dispatches
or retries, which the outbox decides. Logs name the channel, the provider's id and a
masked recipient, never a number, an address, a text or a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType

import requests

from .base import ChannelSettings, Outgoing, SendError, Sent, mask_address
from .mail import EmailChannel
from .twilio_api import ApiBaseHttpClient, TwilioChannel
from .webhook import WebhookChannel, sign

__all__ = ["ApiBaseHttpClient", "ChannelSettings", "Channels", "Outgoing", "SendError",
           "Sent", "mask_address", "sign"]


class Channels:
    """Every channel behind one ``send``; close it (or use ``with``) to free connections."""

    def __init__(self, settings: Mapping[str, object],
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = ChannelSettings.from_mapping(settings)
        self._session = requests.Session()
        self._twilio = TwilioChannel(self.settings)
        self._senders: dict[str, Callable[[Outgoing], Sent]] = {
            "sms": self._twilio.send_sms,
            "call": self._twilio.send_call,
            "email": EmailChannel(self.settings, clock).send,
            "webhook": WebhookChannel(self._session, self.settings.timeout, clock).send,
        }

    def send(self, outgoing: Outgoing) -> Sent:
        """Send one alert; raises SendError when it was not (or may not have been) sent."""
        return self._senders[outgoing.channel](outgoing)

    def close(self) -> None:
        self._twilio.close()
        self._session.close()

    def __enter__(self) -> Channels:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

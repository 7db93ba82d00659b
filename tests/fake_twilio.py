"""A local fake of Twilio's Messages and Calls APIs, for tests and the escalation benchmark.

A real HTTP server on 127.0.0.1 (a free port, a background thread) that the official
twilio library talks to through ``TWILIO_API_BASE``, as production talks to Twilio. It
checks HTTP basic auth, records every request with its form fields, answers as Twilio does
(201 and a JSON resource with an "SM…"/"CA…" sid, status "queued"), and can be told to
answer an error or to hang for the next requests::

    with FakeTwilio() as twilio:
        channels = Channels({**twilio.settings, "TWILIO_NUMBER": "+15005550006"})
        twilio.answer_next(500)        # the next request gets a 500
        twilio.hang_next(2)            # the two after it get no answer at all
        ...
        assert twilio.messages[0].form["Body"] == "..."

``LocalServer`` is the reusable part: a threaded server that stops cleanly (handler
threads joined, hanging requests released), for other fakes such as webhook receivers.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token"
_PATH_RE = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<resource>Messages|Calls)"
                      r"\.json")
_SID_PREFIX = {"Messages": "SM", "Calls": "CA"}
# Twilio's error codes and messages for the statuses tests ask for.
ERRORS = {
    400: (21211, "The 'To' number {To} is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource {path} was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


class LocalServer:
    """An HTTP server on 127.0.0.1 in a background thread, with a clean start and stop.

    Subclasses implement ``handle(request) -> (status, headers, body) | None``; None means
    "hang": the request gets no answer until ``stop()`` (or ``hang_seconds``)."""

    hang_seconds = 30.0

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # Join handler threads on close, so a stopped server leaves no thread running.
        server.daemon_threads = False
        self._server, self._release = server, threading.Event()
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._release.set()  # hanging requests end, so their threads can be joined
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def handle(self, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes] | None:
        raise NotImplementedError

    def _hang(self) -> None:
        self._release.wait(self.hang_seconds)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)


@dataclass
class TwilioRequest:
    """One request to the fake Twilio, with what it answered (None: it hung)."""

    resource: str | None  # "Messages", "Calls", or None for an unknown path
    path: str
    fields: dict[str, list[str]]
    authorized: bool
    received_at: float
    answered: int | None = None
    sid: str | None = None

    @property
    def form(self) -> dict[str, str]:
        """Each form field's (last) value; ``fields`` keeps repeated ones."""
        return {name: values[-1] for name, values in self.fields.items()}


class FakeTwilio(LocalServer):
    """Twilio's Messages.json and Calls.json for one account."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Condition()
        self._requests: list[TwilioRequest] = []
        self._plan: deque[tuple[str, int | None, int | None]] = deque()

    @property
    def settings(self) -> dict[str, str]:
        """The settings that point the service's channels at this fake."""
        return {"TWILIO_ACCOUNT_SID": self.account_sid, "TWILIO_AUTH_TOKEN": self.auth_token,
                "TWILIO_API_BASE": self.base_url}

    @property
    def requests(self) -> list[TwilioRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[TwilioRequest]:
        """Messages Twilio accepted (answered 201)."""
        return [r for r in self.requests if r.resource == "Messages" and r.answered == 201]

    @property
    def calls(self) -> list[TwilioRequest]:
        """Calls Twilio accepted (answered 201)."""
        return [r for r in self.requests if r.resource == "Calls" and r.answered == 201]

    def answer_next(self, status: int, count: int = 1, code: int | None = None) -> None:
        """The next ``count`` authorized requests get HTTP ``status`` with Twilio's error
        body (``code`` defaults to Twilio's usual code for that status)."""
        with self._lock:
            self._plan.extend([("answer", status, code)] * count)

    def hang_next(self, count: int = 1) -> None:
        """The next ``count`` authorized requests get no answer (until stop)."""
        with self._lock:
            self._plan.extend([("hang", None, None)] * count)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[TwilioRequest]:
        """Wait until ``count`` requests have arrived (for sends made by other threads or
        processes); returns them, or raises TimeoutError."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"{len(self._requests)} of {count} requests arrived")
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._plan.clear()

    def handle(self, request: ReceivedRequest) -> tuple[int, dict[str, str], bytes] | None:
        match = _PATH_RE.fullmatch(request.path.partition("?")[0])
        fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        authorized = bool(match) and match["account"] == self.account_sid \
            and self._authorized(request.headers.get("authorization", ""))
        record = TwilioRequest(resource=match["resource"] if match else None,
                               path=request.path, fields=fields, authorized=authorized,
                               received_at=request.received_at)
        with self._lock:
            self._requests.append(record)
            plan = self._plan.popleft() if authorized and request.method == "POST" \
                and self._plan else ("answer", 201, None)
            self._lock.notify_all()
        if not match or request.method != "POST":
            return self._answer(record, 404, None)
        if not authorized:
            return self._answer(record, 401, None)
        if plan[0] == "hang":
            self._hang()
            return None
        return self._answer(record, plan[1], plan[2])

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return False
        return scheme.lower() == "basic" and decoded == f"{self.account_sid}:{self.auth_token}"

    def _answer(self, record: TwilioRequest, status: int, code: int | None
                ) -> tuple[int, dict[str, str], bytes]:
        if status == 201:
            record.sid = _SID_PREFIX[record.resource] + uuid.uuid4().hex
            body = self._resource(record)
        else:
            default_code, message = ERRORS.get(status, (20001, "Error"))
            body = {"code": code or default_code, "status": status,
                    "message": message.format(To=record.form.get("To", ""), path=record.path),
                    "more_info": f"https://www.twilio.com/docs/errors/{code or default_code}"}
        with self._lock:
            record.answered = status
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _resource(self, record: TwilioRequest) -> dict:
        """The JSON Twilio answers for a created message or call (the fields that matter)."""
        form, now = record.form, formatdate(usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/{record.resource}/{record.sid}.json"
        common = {"sid": record.sid, "account_sid": self.account_sid, "to": form.get("To"),
                  "status": "queued", "date_created": now, "date_updated": now,
                  "api_version": "2010-04-01", "uri": uri}
        if record.resource == "Messages":
            return {**common, "from": form.get("From"), "body": form.get("Body"),
                    "messaging_service_sid": form.get("MessagingServiceSid"),
                    "direction": "outbound-api", "num_segments": "1", "num_media": "0",
                    "date_sent": None, "error_code": None, "error_message": None,
                    "price": None, "price_unit": "USD"}
        return {**common, "from": form.get("From"), "direction": "outbound-api",
                "parent_call_sid": None, "start_time": None, "end_time": None,
                "duration": None, "price": None, "price_unit": "USD"}


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives stop().
        protocol_version = "HTTP/1.0"
        timeout = 5  # a client that connects and sends nothing cannot hold stop() forever

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = ReceivedRequest(
                method=self.command, path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length))
            answer = server.handle(request)
            if answer is None:
                self.close_connection = True
                return
            status, headers, body = answer
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # tests read the recorded requests, not stderr

    return Handler

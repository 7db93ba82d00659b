"""Small helpers the service's tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import socket

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session


def count_rows(engine: Engine, model) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(model))


def closed_port() -> int:
    """A local port nothing listens on: a service that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


# -- Twilio's side of a webhook ---------------------------------------------------------

PUBLIC = "https://111.example.vn"  # PUBLIC_BASE_URL: what Twilio signs over
TOKEN = "primary-auth-token-for-tests"


def twilio_post(app, path: str, form: dict, token: str = TOKEN):
    """POST as Twilio does: the form signed with twilio's own RequestValidator."""
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(token).compute_signature(PUBLIC + path, form)
    return app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})


def call_form(sid: str = "CA0001", **extra) -> dict:
    return {"CallSid": sid, "AccountSid": "AC123", "From": "+84912345678", "To": "+84111",
            "CallStatus": "ringing", **extra}


def twiml(response):
    """The response's TwiML root, checked to be well-formed XML."""
    import xml.etree.ElementTree as ET

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def run_together(*works) -> list[BaseException]:
    """Run each callable in a thread of its own, all released at once; the errors they
    raised (the test fails on any). For races: duplicate deliveries, racing workers."""
    import threading

    start, errors = threading.Barrier(len(works)), []

    def run(work) -> None:
        try:
            start.wait()
            work()
        except BaseException as error:  # collected for the test to report
            errors.append(error)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors

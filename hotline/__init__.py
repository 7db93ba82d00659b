"""Hotline 111: the web app (webhooks, console, API) and its command line.

    >>> from hotline import create_app
    >>> app = create_app({"DATABASE_URL": "sqlite://"})
"""

from __future__ import annotations

from collections.abc import Mapping

import redis
from flask import Flask

from . import config as _config


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app from the environment; `config` overrides single settings."""
    from routing.db import utcnow

    from . import (
        ack,
        api,
        api_dispatches,
        console,
        database,
        gateway,
        health,
        twilio_alerts,
        twilio_sms,
        twilio_voice,
    )
    from .crypto import Vault

    app = Flask(__name__)
    app.config.update(_config.load(overrides=config))
    app.extensions["hotline.vault"] = Vault(app.config["HOTLINE_DATA_KEY"])
    app.extensions["hotline.clock"] = utcnow  # tests pass a clock of their own
    app.extensions["hotline.redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_timeout=1, socket_connect_timeout=1) \
        if app.config["REDIS_URL"] else None
    database.init_app(app)
    twilio_voice.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(twilio_sms.bp)
    app.register_blueprint(gateway.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_dispatches.bp)
    app.register_blueprint(twilio_voice.bp)
    app.register_blueprint(twilio_alerts.bp)
    app.register_blueprint(ack.bp)
    console.init_app(app)  # last: it exempts the machines' blueprints from CSRF
    return app


__all__ = ["create_app"]

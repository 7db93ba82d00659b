"""The WSGI entry point: `gunicorn wsgi:app`. Each worker process replays its machine's
voice spool (calls stored late because the database was down or slow)."""

from hotline import create_app
from hotline.twilio_voice import start_spool_replayer

app = create_app()
start_spool_replayer(app)

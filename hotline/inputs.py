"""Reading request input: each function answers 400 with a message naming the field."""

from __future__ import annotations

from datetime import datetime

from flask import abort, request


def json_object() -> dict:
    """The body: a JSON object in UTF-8. Bytes that are not UTF-8 get a 400 that says so,
    not "not a JSON object"; and Python's parser would even accept some of them (an
    encoded surrogate, ED A0 80), which strict UTF-8 refuses."""
    try:
        request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError as error:
        abort(400, f"the body is not valid UTF-8 (byte {error.start} cannot be decoded)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


def one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        abort(400, f"{name} must be one of {', '.join(allowed)}")
    return value


def whole(name: str, value: str, low: int, high: int | None) -> int:
    try:
        number = int(value)
    except ValueError:
        abort(400, f"{name} must be a whole number")
    if number < low or (high is not None and number > high):
        abort(400, f"{name} must be between {low} and {high}" if high else
              f"{name} must be at least {low}")
    return number


def aware_time(name: str, value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):  # not a string, or not a time
        abort(400, f"{name} must be an ISO 8601 time with its offset")
    if parsed.tzinfo is None:
        abort(400, f"{name} needs its offset (e.g. +07:00)")
    return parsed

"""Routing: the directory of focal points, dispatch, acknowledgement and escalation.

No Flask here: routing is handed the facts of a tip and works on the shared database
base in ``routing.db``.
"""

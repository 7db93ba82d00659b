"""Values the console shows from the database (urgencies, functions, roles, ...), marked
for translation here so that the catalogs hold them; templates translate the stored
value (``_(tip.urgency)``). tests/test_console.py checks that none is missing."""

from __future__ import annotations


def N_(text: str) -> str:  # marks a message for extraction; translated where shown
    return text


SHOWN_VALUES = (
    N_("critical"), N_("high"), N_("medium"), N_("low"),
    N_("police"), N_("consular"), N_("border"), N_("victim_support"),
    N_("sms"), N_("voice"), N_("walk_in"), N_("email"), N_("other_line"),
    N_("new"), N_("claimed"), N_("in_progress"), N_("closed"),
    N_("operator"), N_("supervisor"), N_("focal_point"), N_("admin"),
    N_("referred"), N_("rescued_or_supported"), N_("no_action"), N_("duplicate"), N_("prank"),
    N_("pending"), N_("acknowledged"), N_("cancelled"), N_("dispatched"),
    N_("alert"), N_("escalation"), N_("supervisor_unclaimed"), N_("test_alert"),
    N_("reminder_outcome"), N_("voicemail"), N_("conversation"),
)

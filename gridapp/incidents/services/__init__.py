"""Every write of incidents, by topic: intake, relations, transitions, escalation, categories."""

from gridapp.incidents.services.categories import event_categories_seed
from gridapp.incidents.services.escalation import escalation_due_level, events_escalate
from gridapp.incidents.services.intake import ReportOutcome, event_report
from gridapp.incidents.services.relations import event_relations
from gridapp.incidents.services.transitions import event_transition, events_transition_bulk

__all__ = [
    "ReportOutcome",
    "escalation_due_level",
    "event_categories_seed",
    "event_relations",
    "event_report",
    "event_transition",
    "events_escalate",
    "events_transition_bulk",
]

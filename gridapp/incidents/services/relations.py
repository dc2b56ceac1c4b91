"""How a user stands to an event (reporter, assignee, department, grid worker, supervisor, command centre):
what the transition table's ``who`` is checked against."""

from __future__ import annotations

from accounts.models import Role
from gridapp.geography import selectors as geography
from gridapp.incidents.models import Event
from gridapp.incidents.workflow import Relation


def event_relations(user, event: Event, *, patrolled: frozenset[int] | None = None,
                    supervised: frozenset[int] | None = None) -> frozenset[Relation]:
    """How ``user`` (None: the system) stands to ``event``.

    At most two small queries; none when the caller passes the user's patrolled
    and supervised grid ids (a list computes them once for all its events).
    """
    if user is None:
        return frozenset({Relation.SYSTEM})
    if not (user.is_authenticated and user.is_active):
        return frozenset()
    relations = set()
    if user.commands_district:
        relations.add(Relation.COMMAND_CENTRE)
    if event.reporter_id == user.pk:
        relations.add(Relation.REPORTER)
    if event.assignee_id == user.pk:
        relations.add(Relation.ASSIGNEE)
    if user.is_department_staff and user.department_id == event.department_id:
        relations.add(Relation.DEPARTMENT)
    if user.role == Role.GRID_WORKER and (
            event.grid_id in patrolled if patrolled is not None
            else geography.grid_ids_of_worker(user).filter(content_object_id=event.grid_id).exists()):
        relations.add(Relation.GRID_WORKER)
    if user.role == Role.SUPERVISOR and (
            event.grid_id in supervised if supervised is not None
            else geography.grid_ids_supervised_by(user).filter(id=event.grid_id).exists()):
        relations.add(Relation.SUPERVISOR)
    return frozenset(relations)

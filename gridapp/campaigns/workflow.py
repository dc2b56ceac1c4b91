"""A campaign case's lifecycle as data (read by the platform's workflow engine through
``gridapp.campaigns.services.CASE_WORKFLOW``): listed -> plan agreed -> in progress -> demolished or rectified (as
its type says) -> look-back passed; a finished case found again in the look-back round recurs and is worked again.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from core.workflow import TransitionTable, transition
from gridapp.campaigns.models import CaseStatus as S


class Relation(StrEnum):
    GRID_WORKER = "grid_worker"  # works in the case's grid
    SUPERVISOR = "supervisor"  # supervises its community or street
    COMMAND_CENTRE = "command_centre"  # operators and administrators: who runs the campaign
    SYSTEM = "system"  # OneGrid itself: the incident the case was raised from closed


class Action(StrEnum):
    AGREE_PLAN = "agree_plan"
    START = "start"
    FINISH = "finish"
    PASS_LOOK_BACK = "pass_look_back"
    RECUR = "recur"
    RESUME = "resume"


ACTION_LABELS = {
    Action.AGREE_PLAN: _("agree the plan"), Action.START: _("start the work"),
    Action.FINISH: _("finish the work"), Action.PASS_LOOK_BACK: _("pass the look-back"),
    Action.RECUR: _("record a recurrence"), Action.RESUME: _("work again"),
}

FIELD = (Relation.GRID_WORKER, Relation.SUPERVISOR, Relation.COMMAND_CENTRE)
LEAD = (Relation.SUPERVISOR, Relation.COMMAND_CENTRE)

TABLE = TransitionTable([
    transition(Action.AGREE_PLAN, [S.LISTED], S.PLAN_AGREED, LEAD),
    transition(Action.START, [S.PLAN_AGREED], S.IN_PROGRESS, FIELD),
    # demolished or rectified, as the case's type says (the engine's computed target)
    transition(Action.FINISH, [S.IN_PROGRESS], "outcome", (*FIELD, Relation.SYSTEM), effects=["outcome"]),
    transition(Action.PASS_LOOK_BACK, [S.DEMOLISHED, S.RECTIFIED], S.LOOK_BACK_PASSED, FIELD,
               needs=["look_back_round"]),
    transition(Action.RECUR, [S.DEMOLISHED, S.RECTIFIED, S.LOOK_BACK_PASSED], S.RECURRED, FIELD,
               needs=["look_back_round"], effects=["recurred"]),
    transition(Action.RESUME, [S.RECURRED], S.IN_PROGRESS, LEAD),
])

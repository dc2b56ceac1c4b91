"""The workflow engine (``engine``), workflows on stored cases (``cases``) and stored multi-step approval
workflows (``steps``).  The engine's public names are importable from here; they load on first use, so that
``core.models`` can import ``core.workflow.models`` without pulling the engine into model loading."""

from importlib import import_module

_FROM_ENGINE = frozenset({
    "KEEP", "RESTART", "STAY", "Attempt", "Notice", "QueuedTask", "Transition", "TransitionTable", "Workflow",
    "WorkflowDenied", "WorkflowError", "transition", "workflow_apply", "workflow_get", "workflow_register",
    "workflow_unregister",
})
__all__ = sorted(_FROM_ENGINE)


def __getattr__(name: str):
    if name in _FROM_ENGINE:
        return getattr(import_module("core.workflow.engine"), name)
    raise AttributeError(f"module 'core.workflow' has no attribute {name!r}")

"""graphql-core's executor, with subscription messages shared between the subscribers of one operation.

A subscription message that derives from ``SharedPayload`` reads nothing but itself: the first of the
subscribers of one operation (same document, same variables below the root field) that receives it executes
it, the others take that result (``OneGridExecutor.build_per_event_executor``), so one change to a thousand
sockets is executed once, not a thousand times.
"""

from __future__ import annotations

import collections
from typing import Any

from graphql import FieldNode, Visitor, visit
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class OneGridExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any):
        executor = super().build_per_event_executor(payload)
        if not isinstance(payload, SharedPayload):
            return executor
        operation = self.operation
        used = _VARIABLES_USED.get(id(operation))
        if used is None or used[0] is not operation:
            used = _VARIABLES_USED[id(operation)] = (operation, _selection_variables(operation))
            while len(_VARIABLES_USED) > _SHARED_RESULTS_KEPT:
                _VARIABLES_USED.popitem(last=False)
        variables = self.variable_values.coerced
        names = used[1] if used[1] is not None else tuple(sorted(variables))
        try:
            values = tuple((name, variables.get(name)) for name in names)
            hash(values)
        except TypeError:  # a list or an input object: not shared
            return executor
        return _SharedEvent(executor, (id(operation), values, id(payload)), payload)


#: id(operation node) -> (the node, kept alive so that its id is not reused; the variables its selection uses).
_VARIABLES_USED: collections.OrderedDict[int, tuple[Any, tuple[str, ...] | None]] = collections.OrderedDict()


class SharedPayload:
    """A subscription message whose fields read nothing but the message itself (no viewer, no database): every
    subscriber of the same operation gets the same result, so it is executed once for all of them
    (``OneGridExecutor.build_per_event_executor``).  A payload class says so by deriving from this."""


#: Results of shared payloads: (operation node, the selection's variables, payload) -> (payload, result).
_SHARED_RESULTS: collections.OrderedDict[tuple, tuple[Any, Any]] = collections.OrderedDict()
_SHARED_RESULTS_KEPT = 256


class _SharedEvent:
    """One subscriber's event of a shared payload: executed by the first subscriber, reused by the others."""

    __slots__ = ("executor", "key", "payload")

    def __init__(self, executor, key: tuple, payload) -> None:
        self.executor, self.key, self.payload = executor, key, payload

    def execute_operation(self, serially: bool | None = None) -> Any:
        cached = _SHARED_RESULTS.get(self.key)
        if cached is not None and cached[0] is self.payload:
            return cached[1]
        result = self.executor.execute_operation(serially)
        if not self.executor.is_awaitable(result):
            _SHARED_RESULTS[self.key] = (self.payload, result)
            while len(_SHARED_RESULTS) > _SHARED_RESULTS_KEPT:
                _SHARED_RESULTS.popitem(last=False)
        return result


def _selection_variables(operation) -> tuple[str, ...] | None:
    """The variables the fields below the root fields use (their arguments and directives); None: possibly all
    of them (a fragment spread, whose definition lies outside the operation)."""
    names: set[str] = set()
    spreads = False

    class Collect(Visitor):
        def enter_variable(self, node, *_args):
            names.add(node.name.value)

        def enter_fragment_spread(self, *_args):
            nonlocal spreads
            spreads = True

    for root in operation.selection_set.selections:
        if isinstance(root, FieldNode):
            if root.selection_set is not None:
                visit(root.selection_set, Collect())
            for directive in root.directives or ():
                visit(directive, Collect())
        else:
            spreads = True
    return None if spreads else tuple(sorted(names))

"""graphql-core's executor, with subscription messages shared between the subscribers of one operation.

A subscription message that derives from ``SharedPayload`` reads nothing but itself: the first of the
subscribers of one operation (same document, same variables below the root field) that receives it executes
it, the others take that result (``OneGridExecutor.build_per_event_executor``), so one change to a thousand
sockets is executed once, not a thousand times.  A live subscriber's sink (``api.multiplex``) takes the same
result without strawberry's per-event pipeline (``OneGridExecutor.shared_result``).
"""

from __future__ import annotations

import collections
from typing import Any

from graphql import FieldNode, Visitor, visit
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.multiplex import current_executor


class OneGridExecutor(StrawberryGraphQLCoreExecutionContext):
    def cancellable_iterable(self, iterable):
        # Called once per subscription, in its task, before its first event: the subscription's sink
        # (``api.multiplex.Sink``) executes its shared payloads with this executor.
        current_executor.set(self)
        return super().cancellable_iterable(iterable)

    def build_per_event_executor(self, payload: Any):
        key = self._shared_key(payload)
        return super().build_per_event_executor(payload) if key is None else _SharedEvent(self, key, payload)

    def shared_result(self, payload: SharedPayload) -> Any:
        """The result of this operation for ``payload``, executed once for every subscriber that shares it; None
        when it cannot be shared (a list or an input object among the selection's variables) or is not ready."""
        key = self._shared_key(payload)
        if key is None:
            return None
        result = _SharedEvent(self, key, payload).execute_operation(False)
        return None if self.is_awaitable(result) else result

    def _shared_key(self, payload: Any) -> tuple | None:
        """What makes two subscribers' results for ``payload`` the same: the operation, the values of the
        variables its selection uses, the payload; None when the payload is not shared or a value is not
        hashable."""
        if not isinstance(payload, SharedPayload):
            return None
        try:
            prefix = self._onegrid_shared  # the same for every event of the operation (copied to its executors)
        except AttributeError:
            prefix = self._onegrid_shared = self._shared_prefix()
        return None if prefix is None else (*prefix, id(payload))

    def _shared_prefix(self) -> tuple | None:
        """The operation and the values of the variables its selection uses; None when one is not hashable."""
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
            return None
        return id(operation), values


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
    """One subscriber's event of a shared payload: executed by the first subscriber (on a per-event copy of its
    operation's executor, made only then), reused by the others."""

    __slots__ = ("key", "operation_executor", "payload")

    def __init__(self, operation_executor: OneGridExecutor, key: tuple, payload) -> None:
        self.operation_executor, self.key, self.payload = operation_executor, key, payload

    def execute_operation(self, serially: bool | None = None) -> Any:
        cached = _SHARED_RESULTS.get(self.key)
        if cached is not None and cached[0] is self.payload:
            return cached[1]
        executor = super(OneGridExecutor, self.operation_executor).build_per_event_executor(self.payload)
        result = executor.execute_operation(serially)
        if not executor.is_awaitable(result):
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

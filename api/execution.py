"""graphql-core's executor with a short path for plain leaf fields.

A list of 20 incidents on the mobile home screen executes about 260 fields, most of them a column read into a
scalar.  graphql-core spends more on each such field than the read itself costs: a resolve-info object of 15
entries, two awaitable checks and a ``complete_value`` recursion through the non-null wrapper before the
scalar's ``coerce_output_value``.  For a field that strawberry resolves on its basic path (no arguments, no
``Info``, no extensions; see ``api/fields.py``) with a scalar or enum type, ``LeafExecutor`` reads the value
and coerces it directly, which is what the long path computes for it.

Anything unusual takes graphql-core's own path, which then reads the field again and produces the result, the
null or the located error exactly as before: a null for a non-null field, an error in the read or the
coercion, a coercion to nothing.

A subscription message that derives from ``SharedPayload`` reads nothing but itself: the first of the
subscribers of one operation (same document, same variables below the root field) that receives it executes
it, the others take that result (``build_per_event_executor``), so one change to a thousand sockets is
executed once, not a thousand times.

The short path is off when the operation runs inside an event loop
(subscriptions), where strawberry-django moves a resolver's database access to a thread and hands back an
awaitable, and when an extension resolves fields through middleware.
"""

from __future__ import annotations

import collections
from typing import Any

from graphql import (
    FieldNode,
    GraphQLLeafType,
    GraphQLObjectType,
    Undefined,
    Visitor,
    is_leaf_type,
    is_non_null_type,
    visit,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.utils.inspect import in_async_context

#: A field's short path: its resolver, its leaf type, whether it is non-null.  None: the long path.
LeafPlan = tuple[Any, GraphQLLeafType, bool] | None


class LeafExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._short = (middleware is None or not middleware.middlewares) and not in_async_context()
        try:
            self._plans: dict[tuple[str, str], LeafPlan] = self.schema._onegrid_leaf_plans
        except AttributeError:
            self._plans = self.schema._onegrid_leaf_plans = {}

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list, path,
                      position_context) -> Any:
        if self._short:
            name = field_details_list[0].node.name.value
            try:
                plan = self._plans[parent_type.name, name]
            except KeyError:
                plan = self._plans[parent_type.name, name] = _leaf_plan(self.schema.get_field(parent_type, name))
            if plan is not None:
                resolve, leaf, non_null = plan
                try:
                    value = resolve(source, None)
                    if value is None:
                        if not non_null:
                            return None
                    else:
                        coerced = leaf.coerce_output_value(value)
                        if coerced is not None and coerced is not Undefined:
                            return coerced
                except Exception:  # noqa: BLE001 - the long path reads it again and reports the error
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

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


def _leaf_plan(field_def) -> LeafPlan:
    """The short path for a field resolved by strawberry's basic path into a scalar or an enum, else None."""
    if field_def is None or field_def.args:
        return None
    resolve = field_def.resolve
    if getattr(resolve, "__name__", None) != "_get_basic_result" or not getattr(resolve, "_is_default", False):
        return None
    field_type = field_def.type
    non_null = is_non_null_type(field_type)
    leaf = field_type.of_type if non_null else field_type
    if not is_leaf_type(leaf):
        return None
    return resolve, leaf, non_null


class SharedPayload:
    """A subscription message whose fields read nothing but the message itself (no viewer, no database): every
    subscriber of the same operation gets the same result, so it is executed once for all of them
    (``LeafExecutor.build_per_event_executor``).  A payload class says so by deriving from this."""


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

"""The depth limit, with introspection counted.

strawberry's ``QueryDepthLimiter`` skips every field whose name starts with ``__`` together with everything it
selects, so an introspection document of any depth passed (graphql-core's own ``MaxIntrospectionDepthRule``
counts only lists of types nested in each other: an 11-level ``ofType`` chain passed both).  Here every field
counts as it does there (a document whose deepest field is ``MAX_DEPTH`` levels below the root passes),
introspection fields included, with one exception: the ``ofType`` of a type reference, a to-one link that
ends after a few levels on any real schema (``[Grid!]!`` is three), is free up to the nesting the standard
introspection query asks (``TYPE_REF_DEPTH``: graphql-js's, which GraphiQL sends and graphql-core copies); a
deeper ``ofType`` chain is refused like a deep document.  ``tests/api/test_protection.py`` measures the
standard query's depth with ``operation_depths``, holds it to the limit and runs it.
"""

from __future__ import annotations

from graphql import (
    DefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
    parse,
)
from graphql.utilities import get_introspection_query


def _type_ref_depth() -> int:
    """How many ``ofType`` the standard introspection query nests: counted in graphql-core's query."""
    chain = 0
    node = next(definition for definition in parse(get_introspection_query()).definitions
                if isinstance(definition, FragmentDefinitionNode) and definition.name.value == "TypeRef")
    while True:
        inner = [selection for selection in node.selection_set.selections
                 if isinstance(selection, FieldNode) and selection.name.value == "ofType"]
        if not inner:
            return chain
        node, chain = inner[0], chain + 1


TYPE_REF_DEPTH = _type_ref_depth()


class TooDeep(Exception):
    pass


def _depth(node, fragments: dict[str, FragmentDefinitionNode], level: int, limit: int | None, *,
           introspection: bool = False, of_type: int = 0, seen: frozenset[str] = frozenset()) -> int:
    """The deepest field level at or below ``node`` (``level`` is its own); raises ``TooDeep`` past ``limit``."""
    if limit is not None and level > limit:
        raise TooDeep
    if isinstance(node, FieldNode):
        name = node.name.value
        introspection = introspection or name.startswith("__")
        of_type = of_type + 1 if introspection and name == "ofType" else 0
        if limit is not None and of_type > TYPE_REF_DEPTH:
            raise TooDeep
        if not node.selection_set:
            return level
        below = level if of_type else level + 1
    elif isinstance(node, FragmentSpreadNode):
        name = node.name.value
        if name in seen or name not in fragments:  # a cycle or an unknown fragment: other rules report them
            return level
        return _depth(fragments[name], fragments, level, limit, introspection=introspection, of_type=of_type,
                      seen=seen | {name})
    elif isinstance(node, InlineFragmentNode | FragmentDefinitionNode | OperationDefinitionNode):
        below = level
    else:  # pragma: no cover - the selections of a document are fields and fragments
        raise TypeError(f"no depth for {node.kind}")
    return max((_depth(selection, fragments, below, limit, introspection=introspection, of_type=of_type, seen=seen)
                for selection in node.selection_set.selections), default=level)


def _parts(definitions: tuple[DefinitionNode, ...]):
    fragments = {definition.name.value: definition for definition in definitions
                 if isinstance(definition, FragmentDefinitionNode)}
    operations = [definition for definition in definitions if isinstance(definition, OperationDefinitionNode)]
    return fragments, operations


def operation_depths(document) -> dict[str, int]:
    """Each operation's depth as the limit counts it (the level of its deepest field; a root field is 0)."""
    fragments, operations = _parts(document.definitions)
    return {operation.name.value if operation.name else "anonymous": _depth(operation, fragments, 0, None)
            for operation in operations}


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing an operation deeper than ``max_depth`` with the code ``too_deep``."""

    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments, operations = _parts(context.document.definitions)
            for operation in operations:
                try:
                    _depth(operation, fragments, 0, max_depth)
                except TooDeep:
                    name = operation.name.value if operation.name else "anonymous"
                    # strawberry's message, which clients already match, with a code
                    context.report_error(GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {max_depth}", [operation],
                        extensions={"code": "too_deep", "maxDepth": max_depth}))

    return DepthLimit

"""OneGrid's strawberry-django field: plain fields take strawberry's fast path.

Strawberry resolves a "basic" field (no resolver, no extension) with a bare attribute read: no ``Info``
object, no argument conversion, no chain of field extensions.  strawberry-django marks every one of its
fields as not basic, so a model's columns and its ``root``-only computed fields each pay that machinery,
about half of a list query's time in GraphQL (the mobile home screen runs 262 fields per request).

``OneGridField`` is basic again where nothing is lost by it: no permission classes or other extensions, no
list, connection or pagination (those apply the related type's ``get_queryset``, which needs ``Info``),
and a resolver, if any, that asks for nothing but the object (``self`` or ``root``).  The optimizer hints
(``only``, ``select_related``, ``prefetch_related``) are read from the field as before.  In an async
context (subscriptions) such fields still go through strawberry-django's resolver wrapper, which moves
any database access to a thread.

Outside an async context the basic path also skips strawberry-django's per-call wrappers: a resolver is called
as itself, a column or a to-one relation already loaded is read from the instance (``_basic_read``); anything
else (a deferred column, a relation not loaded) goes the library's way.  A node type's ``id`` is basic too
(``_basic_node_id``): the global id is the type's name and the primary key, which strawberry otherwise
rebuilt from ``Info`` (a schema lookup per object).

Use ``field`` and ``django_type`` from here instead of ``strawberry_django.field`` and
``strawberry_django.type``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import strawberry_django
from django.db.models import Model
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute, ForwardManyToOneDescriptor
from django.db.models.manager import BaseManager
from django.db.models.query_utils import DeferredAttribute
from strawberry import relay
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.aio import resolve_awaitable
from strawberry.utils.inspect import in_async_context
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.relay.utils import resolve_model_id
from strawberry_django.resolvers import django_resolver

from api.context import viewer
from api.nodes import NODE_TYPES
from api.restrict import Public, Restricted, visible

#: Descriptors whose ``__get__`` returns the instance's ``__dict__`` entry as it is (``FileDescriptor`` and
#: other subclasses wrap it, so they are left to the library).
_PLAIN_COLUMNS = (DeferredAttribute, ForeignKeyDeferredAttribute)


class OneGridField(StrawberryDjangoField):
    @functools.cached_property
    def restricted_relation(self) -> str | None:
        """The model attribute of a to-one relation to a restricted type (``api.restrict.Restricted``) that this
        field reads itself; None for any other field."""
        target = self.django_type
        if (self.base_resolver is not None or self.is_list or self.is_connection or self.is_paginated
                or target is None or not issubclass(target, Restricted)):
            return None
        return self.django_name or self.python_name

    @property
    def is_basic_field(self) -> bool:
        if self.extensions or self.is_list or self.is_connection or self.is_paginated or self.restricted_relation:
            return False
        resolver = self.base_resolver
        return resolver is None or (not resolver.is_async and not resolver.arguments
                                    and resolver.info_parameter is None)

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if info is None and source is not None and not in_async_context():
            return self._basic_read(source)
        resolver = self.base_resolver
        if info is None and resolver is not None:  # the basic path: hand the resolver its object
            args = [source] if resolver.self_parameter else []
            kwargs = {parameter.name: source for parameter in (resolver.root_parameter, resolver.parent_parameter)
                      if parameter is not None}
            return self.resolver(source, None, args, kwargs)  # in an async context, a coroutine on a thread
        if self.restricted_relation is not None and source is not None:
            return self._restricted_related(source, info)
        return super().get_result(source, info, args, kwargs)

    @functools.cached_property
    def _basic_read(self):
        """What the basic path returns for an object, in a sync context: what ``get_result`` would, without the
        wrappers strawberry-django puts around each call."""
        resolver = self.base_resolver
        if resolver is None:
            return self._read_attribute
        function = resolver.wrapped_func
        takes_self = resolver.self_parameter is not None
        names = tuple(parameter.name for parameter in (resolver.root_parameter, resolver.parent_parameter)
                      if parameter is not None)

        def read(source):
            value = function(source, **dict.fromkeys(names, source)) if takes_self \
                else function(**dict.fromkeys(names, source))
            if callable(value):  # as strawberry-django's resolver wrapper does
                value = value()
            return value.all() if isinstance(value, BaseManager) else value

        return read

    def _read_attribute(self, source):
        attr = getattr(source.__class__, self.django_name or self.python_name, None)
        kind = type(attr)
        if kind in _PLAIN_COLUMNS:
            value = source.__dict__.get(attr.field.attname, _MISSING)
            if value is not _MISSING:
                return value
        elif kind is ForwardManyToOneDescriptor:
            try:
                return attr.field.get_cached_value(source)
            except KeyError:
                pass
        return super().get_result(source, None, [], {})  # deferred or not loaded: the library reads it

    def _restricted_related(self, source, info):
        """The related object as the viewer may see it: what the optimizer prefetched through the type's rule, or
        else read through the rule (never a bare attribute read, which would load it unfiltered)."""
        model_field = source._meta.get_field(self.restricted_relation)
        if model_field.is_cached(source):
            return model_field.get_cached_value(source)
        pk = getattr(source, model_field.attname)
        if pk is None:
            return None
        user = viewer(info).user
        return django_resolver(lambda: visible(model_field.related_model, user).filter(pk=pk).first())()


_MISSING = object()


class _NodeIdField(StrawberryField):
    """A node type's ``id`` on strawberry's basic path: ``GlobalID(<the type's name>, <primary key>)``, what
    ``relay.Node``'s resolver answers for a model instance (the type name it read from ``Info`` is the
    name of the type the field belongs to)."""

    node_type: type[relay.Node]
    type_name: str

    @property
    def is_basic_field(self) -> bool:
        return True

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if info is not None or not isinstance(source, Model):
            return super().get_result(source, info, args, kwargs)
        node_id = self.node_type.resolve_id(source, info=None)  # the pk from the instance, as strawberry reads it
        type_name = self.type_name
        if inspect.isawaitable(node_id):
            return resolve_awaitable(node_id, lambda resolved: relay.GlobalID(type_name=type_name,
                                                                               node_id=str(resolved)))
        return relay.GlobalID(type_name=type_name, node_id=str(node_id))


def _basic_node_id(cls: type) -> None:
    """Puts a model node type's ``id`` on the basic path, unless the type resolves ids or type names itself."""
    if (not issubclass(cls, relay.Node) or getattr(cls.resolve_id, "__func__", None) is not resolve_model_id
            or getattr(cls.resolve_typename, "__func__", None) is not relay.Node.resolve_typename.__func__):
        return
    node_id = relay.Node.__dict__["_id"].__func__
    definition = get_object_definition(cls, strict=True)
    for item in definition.fields:
        resolver = item.base_resolver
        if type(item) is StrawberryField and resolver is not None and resolver._unbound_wrapped_func is node_id:
            item.__class__ = _NodeIdField
            item.node_type = cls
            item.type_name = definition.name


def django_type(model, **kwargs):
    """``strawberry_django.type`` with OneGrid's fields (and a node's ``id`` on the basic path).

    A node type says who may see its objects: it derives from ``Restricted`` (its model's registered rule
    narrows every queryset) or ``Public``; one that says neither is a ``TypeError`` where it is declared.
    """
    decorate = strawberry_django.type(model, field_cls=OneGridField, **kwargs)

    def wrap(cls):
        if issubclass(cls, relay.Node) and not issubclass(cls, Restricted | Public):
            raise TypeError(f"{cls.__name__} is a node type: derive it from api.restrict.Restricted (its model's "
                            f"visibility rule applies) or api.restrict.Public")
        cls = decorate(cls)
        _basic_node_id(cls)
        if issubclass(cls, relay.Node):
            NODE_TYPES.setdefault(model._meta.label_lower, get_object_definition(cls, strict=True).name)
        return cls

    return wrap


field = functools.partial(strawberry_django.field, field_cls=OneGridField)

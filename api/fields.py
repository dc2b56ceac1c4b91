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

Use ``field`` and ``django_type`` from here instead of ``strawberry_django.field`` and
``strawberry_django.type``.
"""

from __future__ import annotations

import functools
from typing import Any

import strawberry_django
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.resolvers import django_resolver


class OneGridField(StrawberryDjangoField):
    @functools.cached_property
    def restricted_relation(self) -> str | None:
        """The model attribute of a to-one relation to a restricted type (``api.restrict.Restricted``) that this
        field reads itself; None for any other field."""
        from api.restrict import Restricted

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
        resolver = self.base_resolver
        if info is None and resolver is not None:  # the basic path: hand the resolver its object
            args = [source] if resolver.self_parameter else []
            kwargs = {parameter.name: source for parameter in (resolver.root_parameter, resolver.parent_parameter)
                      if parameter is not None}
            return self.resolver(source, None, args, kwargs)  # in an async context, a coroutine on a thread
        if self.restricted_relation is not None and source is not None:
            return self._restricted_related(source, info)
        return super().get_result(source, info, args, kwargs)

    def _restricted_related(self, source, info):
        """The related object as the viewer may see it: what the optimizer prefetched through the type's rule, or
        else read through the rule (never a bare attribute read, which would load it unfiltered)."""
        from api.context import viewer
        from api.restrict import visible

        model_field = source._meta.get_field(self.restricted_relation)
        if model_field.is_cached(source):
            return model_field.get_cached_value(source)
        pk = getattr(source, model_field.attname)
        if pk is None:
            return None
        user = viewer(info).user
        return django_resolver(lambda: visible(model_field.related_model, user).filter(pk=pk).first())()


field = functools.partial(strawberry_django.field, field_cls=OneGridField)
django_type = functools.partial(strawberry_django.type, field_cls=OneGridField)

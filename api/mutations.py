"""The one way to declare a mutation: thin over a service, its refusals answered as typed errors.

``mutation(...)`` is ``strawberry.mutation`` with what every mutation needs: a signed-in viewer (unless
``authenticated=False``), one audit row per call (``api.extensions.AuditMutation``, unless ``audited=False``)
and ``TypedErrors``.  A resolver then only decodes ids, calls the service and returns the payload; a
``ValidationError``, ``PermissionDenied`` or ``AuthError`` it (or the service) raises becomes the payload's
``errors``, typed with its domain's enum (``api.errors``), as ``Payload.failed`` builds them.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from api.errors import SERVICE_ERRORS
from api.extensions import AuditMutation
from api.permissions import IsAuthenticated
from api.restrict import Payload


class TypedErrors(FieldExtension):
    """Answers a service's refusal (``api.errors.SERVICE_ERRORS``) with the mutation's payload carrying it as
    typed errors; every other exception goes on (a bug, or a request-level error such as ``invalid_id``)."""

    payload: type[Payload]

    def apply(self, field) -> None:
        payload = field.type
        if not (isinstance(payload, type) and issubclass(payload, Payload)):
            raise TypeError(f"mutation {field.python_name} must return a Payload, not {payload!r}")
        payload.error_type()  # its errors must be a domain's error type: refused when the schema is built
        self.payload = payload

    def resolve(self, next_, source, info, **kwargs):
        try:
            return next_(source, info, **kwargs)
        except SERVICE_ERRORS as error:
            return self.payload.failed(error)

    async def resolve_async(self, next_, source, info, **kwargs):
        try:
            result = next_(source, info, **kwargs)
            return await result if inspect.isawaitable(result) else result
        except SERVICE_ERRORS as error:
            return self.payload.failed(error)


def mutation(*, description: str, authenticated: bool = True, audited: bool = True, **kwargs: Any):
    """``strawberry.mutation`` for OneGrid: refusals as typed errors, the viewer signed in, the call audited."""
    extensions = [TypedErrors(), *([AuditMutation()] if audited else [])]  # the audit sees the typed errors
    return strawberry.mutation(permission_classes=[IsAuthenticated] if authenticated else [], extensions=extensions,
                               description=description, **kwargs)

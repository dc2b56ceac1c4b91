"""Typed errors: what a user can cause comes back as data, never a bare 500."""

from __future__ import annotations

import strawberry
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from graphql import GraphQLError


@strawberry.type(description="A problem with the request that the user can fix or must be told about.")
class MutationError:
    code: str = strawberry.field(description="Stable machine-readable code, e.g. `required`, `permission_denied`.")
    message: str = strawberry.field(description="Human-readable message in the request's language.")
    field: str | None = strawberry.field(default=None, description="The input field at fault, if any.")


def errors_from_validation(error: ValidationError) -> list[MutationError]:
    if hasattr(error, "error_dict"):
        return [
            MutationError(code=item.code or "invalid", message=" ".join(item.messages), field=field)
            for field, items in error.error_dict.items()
            for item in items
        ]
    return [MutationError(code=item.code or "invalid", message=" ".join(item.messages)) for item in error.error_list]


def errors_from(exc: Exception) -> list[MutationError]:
    """Turn a service's exception into typed errors; anything else is re-raised."""
    if isinstance(exc, ValidationError):
        return errors_from_validation(exc)
    if isinstance(exc, PermissionDenied):
        return [MutationError(code="permission_denied", message=str(exc) or _("You may not do this."))]
    raise exc


class GraphQLCodedError(GraphQLError):
    """A request-level error with ``extensions.code`` (authentication, limits)."""

    def __init__(self, message: str, code: str, **extra):
        super().__init__(message, extensions={"code": code, **extra})


def not_authenticated() -> GraphQLCodedError:
    return GraphQLCodedError(_("Log in first: this needs an access token."), "unauthenticated")

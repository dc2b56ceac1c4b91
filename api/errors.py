"""Typed errors: what a user can cause comes back as data, never a bare 500."""

from __future__ import annotations

import strawberry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connections
from django.http import JsonResponse
from django.utils.translation import gettext as _
from graphql import GraphQLError
from strawberry.utils.str_converters import to_camel_case

NUL = "\x00"


@strawberry.type(description="A problem with the request that the user can fix or must be told about.")
class MutationError:
    code: str = strawberry.field(description="Stable machine-readable code, e.g. `required`, `permission_denied`.")
    message: str = strawberry.field(description="Human-readable message in the request's language.")
    field: str | None = strawberry.field(default=None, description="The input field at fault, if any.")


def errors_from_validation(error: ValidationError) -> list[MutationError]:
    """A service names the argument it refuses in Python (``category_code``); the client knows it by its
    GraphQL name (``categoryCode``)."""
    if hasattr(error, "error_dict"):
        return [
            MutationError(code=item.code or "invalid", message=" ".join(item.messages), field=to_camel_case(field))
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


def json_error(status: int, code: str, message: str, *, graphql: bool = False, **extra) -> JsonResponse:
    """The one shape of an error answered outside GraphQL execution (``/graphql/`` transport errors, photo links,
    exports): ``{"errors": [{"message", "extensions": {"code", ...}}]}``, with ``"data": null`` on ``/graphql/``."""
    body: dict = {"errors": [{"message": message, "extensions": {"code": code, **extra}}]}
    return JsonResponse({"data": None, **body} if graphql else body, status=status,
                        json_dumps_params={"ensure_ascii": False})


def unauthorized_response(error, *, graphql: bool = False) -> JsonResponse:
    """401 for a refused bearer token (``accounts.services.AuthError``), with the ``WWW-Authenticate`` challenge
    of RFC 6750 naming the reason's code: ``/graphql/`` (``graphql``) and the exports alike."""
    response = json_error(401, error.code, error.message, graphql=graphql)
    response["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{error.code}"'
    return response


def invalid_text_message() -> str:
    return _("Text may not contain the NUL character (U+0000).")


def contains_nul(value: object) -> bool:
    """Whether a string anywhere in a JSON-like value (dicts, lists, strings) contains NUL.

    PostgreSQL cannot store NUL in text, so such a value would fail deep in a query; it is refused up front.
    Walked with a stack, not recursion: a client may nest a value as deep as the JSON parser allows.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (down, refusing, no connection free in time),
    as opposed to a bad query: then the request is answered 503 ``database_unavailable``, not a bug's 500."""
    if not isinstance(exc, OperationalError):
        return False
    connection = connections["default"]
    if connection.connection is None:
        return True  # the connection was never made: refused, timed out, or no pooled connection free
    try:
        return not connection.is_usable()
    except Exception:  # noqa: BLE001 -- asking a broken connection may fail in any way
        return True


def database_unavailable_response() -> JsonResponse:
    response = json_error(503, "database_unavailable",
                          _("The service is temporarily unavailable. Please try again shortly."))
    response["Retry-After"] = "5"
    return response

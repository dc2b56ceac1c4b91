"""Typed errors: what a user can cause comes back as data, never a bare 500.

A mutation's payload carries ``errors``: a list of its domain's error type (``AccountError``, ``GridError``,
``EventError``, ``VisionError``, ``FeedError``), each a ``MutationError`` whose ``code`` is the domain's enum
(``EventErrorCode``, ...).  The enums' values are the services' codes as they are (``not_found``,
``permission_denied``), so the wire shows the same strings that ``code: String`` showed.  Every enum has
``invalid`` (a ``ValidationError`` without a code) and ``permission_denied`` (``PermissionDenied``).

``errors_from`` turns a service's exception into a domain's errors.  A code the domain's enum lacks is a bug
of ours, not of the client's: it is answered as ``invalid`` with the service's message and field, and logged
at ERROR on ``api.errors`` (``tests/api/test_error_codes.py`` scans the services so that it never ships).
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import strawberry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connections
from django.http import JsonResponse
from django.utils.translation import gettext as _
from graphql import GraphQLError
from strawberry.types.base import get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.utils.str_converters import to_camel_case

from accounts.services import AuthError

NUL = "\x00"
#: The code of a ``ValidationError`` that names none, and of a code a domain's enum lacks.
INVALID = "invalid"
PERMISSION_DENIED = "permission_denied"
#: The exceptions by which a service refuses: what a mutation answers as typed errors.
SERVICE_ERRORS = (ValidationError, PermissionDenied, AuthError)

logger = logging.getLogger(__name__)


class ErrorCode(enum.StrEnum):
    """Base of a domain's error codes: each member's name is its value, the code a service raises."""

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return name


@strawberry.type(description="A problem with the request that the user can fix or must be told about.")
class MutationError:
    """Base of each domain's error type (``error_type``), which narrows ``code`` to the domain's enum."""

    code: str = strawberry.field(description="Stable machine-readable code, e.g. `required`, `permission_denied`.")
    message: str = strawberry.field(description="Human-readable message in the request's language.")
    field: str | None = strawberry.field(default=None, description="The input field at fault, if any.")

    @classmethod
    def codes(cls) -> type[ErrorCode]:
        """The domain's enum of codes (the type of its ``code``)."""
        definition = get_object_definition(cls, strict=True).get_field("code").type
        if not isinstance(definition, StrawberryEnumDefinition):
            raise TypeError(f"{cls.__name__}.code is not an enum of error codes")
        return definition.wrapped_cls

    @classmethod
    def of(cls, code: str | None, message: str, field: str | None = None) -> MutationError:
        """The error with ``code`` in this domain's enum: ``invalid`` for none, and for one the enum lacks (logged:
        a service raised a code its domain's enum was not given)."""
        codes = cls.codes()
        try:
            member = codes(code or INVALID)
        except ValueError:
            logger.error("error code %r is not in %s: answered as %r; add it to the enum", code, codes.__name__,
                         INVALID)
            member = codes(INVALID)
        return cls(code=member, message=message, field=field)


def error_enum(*, name: str, description: str):
    """Declares a domain's ``ErrorCode`` enum in the schema; refuses one without the codes any service may raise
    (``invalid``, ``permission_denied``) or whose names are not its codes."""
    def wrap(codes: type[ErrorCode]) -> type[ErrorCode]:
        missing = {INVALID, PERMISSION_DENIED} - {member.value for member in codes}
        if missing or not issubclass(codes, ErrorCode) or any(member.name != member.value for member in codes):
            raise TypeError(f"{codes.__name__}: an ErrorCode whose names are its codes, with {sorted(missing)}")
        return strawberry.enum(codes, name=name, description=description)
    return wrap


def error_type(codes: type[ErrorCode], *, name: str, description: str) -> type[MutationError]:
    """A domain's error type: a ``MutationError`` whose ``code`` is the domain's enum (``error_enum``)::

        GridError = error_type(GridErrorCode, name="GridError", description="A refused change to the grid.")
    """
    namespace: dict[str, Any] = {
        "__annotations__": {"code": codes}, "__module__": codes.__module__, "__qualname__": name,
        "code": strawberry.field(description="Stable machine-readable code: what went wrong, for the app to act on."),
    }
    return strawberry.type(type(name, (MutationError,), namespace), name=name, description=description)


def errors_from(exc: Exception, error_type: type[MutationError]) -> list[MutationError]:
    """A service's refusal as ``error_type``'s errors; any other exception is re-raised.

    A ``ValidationError`` gives one error per message, on the field it names: a service names the argument in
    Python (``category_code``), the client knows it by its GraphQL name (``categoryCode``).  ``PermissionDenied``
    is ``permission_denied``; an ``AuthError`` keeps its code.
    """
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [error_type.of(item.code, " ".join(item.messages), to_camel_case(field))
                    for field, items in exc.error_dict.items() for item in items]
        return [error_type.of(item.code, " ".join(item.messages)) for item in exc.error_list]
    if isinstance(exc, PermissionDenied):
        return [error_type.of(PERMISSION_DENIED, str(exc) or _("You may not do this."))]
    if isinstance(exc, AuthError):
        return [error_type.of(exc.code, exc.message)]
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

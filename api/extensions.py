"""Schema and field extensions: request protection, language, masked errors, auditing."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext
from graphql import GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry import relay
from strawberry.extensions import FieldExtension, MaskErrors, SchemaExtension
from strawberry.utils.logging import StrawberryLogger

from api.context import viewer, viewer_from_context
from api.depth import depth_rule
from api.errors import NUL, GraphQLCodedError, contains_nul, invalid_text_message
from core.actor import acting_as
from core.audit import audit_record
from core.models import AuditResult

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class HideSuggestions(SchemaExtension):
    """No 'Did you mean ...?' in validation errors: they leak the schema when introspection is off."""

    def on_validate(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors or []
        for error in errors:
            if "Did you mean" in error.message:
                error.message = _SUGGESTION.sub("", error.message)


class ActivateLanguage(SchemaExtension):
    """Websocket operations run outside Django's LocaleMiddleware: use the handshake's language."""

    def on_operation(self) -> Iterator[None]:
        with translation.override(viewer_from_context(self.execution_context.context).language):
            yield


def _should_mask(error: GraphQLError) -> bool:
    """Mask errors that are not ours: ours carry a ``code`` in their extensions."""
    original = getattr(error, "original_error", None)
    if original is None:
        return False  # syntax and validation errors are the client's and say nothing secret
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return False
    return not (error.extensions or {}).get("code")


class CodeKnownErrors(SchemaExtension):
    """Client mistakes that surface as exceptions get a ``code``, so they are neither masked nor vague."""

    CODES = (
        (relay.GlobalIDValueError, "invalid_id"),
        (PermissionDenied, "permission_denied"),
        (ValidationError, "invalid"),
    )

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            if (error.extensions or {}).get("code"):
                continue
            for exception_type, code in self.CODES:
                if isinstance(error.original_error, exception_type):
                    error.extensions = {**(error.extensions or {}), "code": code}
                    break


def error_code(error: GraphQLError) -> str | None:
    """The code a client will see for ``error``, or None for an unexpected error (a bug, masked in production).

    Syntax and validation errors (no original exception) are the client's: ``graphql_invalid``.
    """
    code = (error.extensions or {}).get("code")
    if code:
        return code
    original = error.original_error
    if original is None:
        return "graphql_invalid"
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return original.extensions["code"]
    for exception_type, known in CodeKnownErrors.CODES:
        if isinstance(original, exception_type):
            return known
    return None


refusals_logger = logging.getLogger("api.refusals")


class OneGridSchema(strawberry.Schema):
    """Logs what went wrong by what it is: a bug at ERROR with its traceback, a refusal in one INFO line.

    strawberry logs every error of a result at ERROR with a traceback; an anonymous request asking 25 protected
    fields wrote 25 tracebacks, so a scan of the API filled the disk with noise that buried the real bugs.
    """

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        refused: Counter[str] = Counter()
        for error in errors:
            code = error_code(error)
            if code is None or code == "internal_error":
                StrawberryLogger.error(error, execution_context)
            else:
                refused[code] += 1
        if refused:
            operation = getattr(execution_context, "operation_name", None) or "-"
            refusals_logger.info("refused %s (operation %s)",
                                 ", ".join(f"{code} x{count}" for code, count in refused.items()), operation)


class _NulFinder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_args):
        if NUL in node.value:
            self.found = True
            return self.BREAK
        return None


class RefuseNulText(SchemaExtension):
    """Refuses NUL in any text of an operation, in its literals or its variables, with ``invalid_text``.

    PostgreSQL cannot store NUL in text: such a value used to fail deep in a query as an internal error.  Checked
    once here for every String, ID and input of every operation, over HTTP and the websocket alike.  Placed after
    the validation cache, so that it runs only for valid operations and before they execute.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and self._has_nul(context):
            context.pre_execution_errors = [GraphQLCodedError(invalid_text_message(), "invalid_text")]
        yield

    @staticmethod
    def _has_nul(context) -> bool:
        if contains_nul(context.variables):
            return True
        # The lexer refuses a raw NUL, so a literal can only hold one through an escape: no "\u", no walk.
        if context.graphql_document is None or "\\u" not in (context.query or ""):
            return False
        finder = _NulFinder()
        visit(context.graphql_document, finder)
        return finder.found


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors with a translated, detail-free message (the log keeps the details)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_should_mask)

    def _process_result(self, result: object) -> None:
        # strawberry's own checks ``isinstance`` against a runtime-checkable Protocol, which inspects the class's
        # members every time: per subscription message, per socket (its share of a fan-out's CPU: py-spy on the
        # server of `bench/fanout.py --only latency`).  The same test, by the attribute.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        self.error_message = gettext("Internal server error.")
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "internal_error"}
        return masked


class AuditMutation(FieldExtension):
    """Writes one audit row per mutation call: who, what, when, result, address.

    The resolver runs as the viewer (``core.actor``), so permission changes it
    causes are audited with the same actor and address.

    A payload carrying typed errors counts as ``failed`` with the first code; an
    exception counts as ``failed`` and is re-raised.
    """

    def resolve(self, next_, source, info, **kwargs):
        who = viewer(info)
        action = f"mutation.{info.field_name}"
        try:
            with acting_as(who.user, who.client_ip, who.user_agent):
                result = next_(source, info, **kwargs)
        except Exception as exc:
            self._record(who, action, AuditResult.FAILED, getattr(exc, "code", None) or type(exc).__name__)
            raise
        errors = getattr(result, "errors", None) or []
        if errors:
            code = errors[0].code
            outcome = AuditResult.DENIED if code == "permission_denied" else AuditResult.FAILED
            self._record(who, action, outcome, code)
        else:
            self._record(who, action, AuditResult.OK, "")
        return result

    @staticmethod
    def _record(who, action, result, code):
        user = who.user if getattr(who.user, "is_authenticated", False) else None
        audit_record(action=action, result=result, actor=user, error_code=code or "",
                     client_ip=who.client_ip, user_agent=who.user_agent)


def protection_extensions() -> list:
    """The schema-level limits every operation passes, on HTTP and websocket alike."""
    from strawberry.extensions import (
        AddValidationRules,
        DisableIntrospection,
        MaxTokensLimiter,
        ParserCache,
        ValidationCache,
    )
    from strawberry.extensions.max_aliases import create_validator as aliases_rule

    limits = settings.GRAPHQL
    # The rule classes are made once: the validation cache is keyed by the rules, and QueryDepthLimiter and
    # MaxAliasesLimiter make new classes per request, which made every request miss it (a full validation on
    # every request; what a request costs: `bench/api.py --only home`).
    rules = [depth_rule(limits["MAX_DEPTH"]), aliases_rule(limits["MAX_ALIASES"])]  # depth: introspection too
    extensions = [
        ActivateLanguage,
        lambda: MaxTokensLimiter(max_token_count=limits["MAX_TOKENS"]),
        lambda: ParserCache(maxsize=limits["CACHE_SIZE"]),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=limits["CACHE_SIZE"]),
        RefuseNulText,
    ]
    if not limits["INTROSPECTION"]:
        extensions += [DisableIntrospection, HideSuggestions]
    if limits["MASK_ERRORS"]:
        extensions.append(MaskUnexpectedErrors)
    extensions.append(CodeKnownErrors)  # after the masking extension: its exit runs first
    return extensions

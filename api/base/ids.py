"""Global ids read as primary keys: the one decoder behind every id the API takes.

A node's id is ``base64("<Type>:<primary key>")``.  ``node_pk`` reads one (already decoded by strawberry, or
the text of a query string) and refuses one that cannot name a row of the expected type with ``invalid_id``.
``node_pk_or_none`` answers None instead, and ``input_pk`` answers a mutation's typed error ``not_found`` on
the input field, as a row the viewer may not see is answered: an id of nothing and an id of something hidden
look alike.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from api.errors import GraphQLCodedError

#: Every node's id is its integer primary key: ASCII digits (``str.isdigit`` also takes "²", which ``int``
#: refuses), short enough for a 64-bit column.
_PK = re.compile(r"[0-9]{1,18}")


class InvalidId(GraphQLCodedError):
    """An id that cannot name a row (of the expected type): the request-level error ``invalid_id``."""

    def __init__(self, type_name: str | None):
        message = _("The id is not valid.") if type_name is None else \
            _("This id is not a %(type)s id.") % {"type": type_name}
        super().__init__(message, "invalid_id")


def is_pk(text: object) -> bool:
    """Whether a global id's node part can be a primary key."""
    return isinstance(text, str) and _PK.fullmatch(text) is not None


def node_pk(global_id: relay.GlobalID | str, type_name: str | None) -> int:
    """The primary key ``global_id`` names, if it is an id of ``type_name`` (None: of any type).

    Takes a ``GlobalID`` or its encoded text.  Raises ``InvalidId`` for text that is no global id, an id of
    another type, or one whose node part is not a primary key.
    """
    if isinstance(global_id, str):
        try:
            global_id = relay.GlobalID.from_id(global_id)
        except relay.GlobalIDValueError:
            raise InvalidId(type_name) from None
    if (type_name is not None and global_id.type_name != type_name) or not is_pk(global_id.node_id):
        raise InvalidId(type_name)
    return int(global_id.node_id)


def node_pk_or_none(global_id: relay.GlobalID | str, type_name: str | None) -> int | None:
    """``node_pk``, or None for an id it refuses."""
    try:
        return node_pk(global_id, type_name)
    except InvalidId:
        return None


def input_pk(global_id: relay.GlobalID, type_name: str, *, field: str, message: str) -> int:
    """A mutation input's id: ``node_pk``, or ``ValidationError`` ``not_found`` on ``field`` with ``message`` (the
    typed error a row the viewer may not see gets too)."""
    pk = node_pk_or_none(global_id, type_name)
    if pk is None:
        raise ValidationError({field: ValidationError(message, code="not_found")})
    return pk

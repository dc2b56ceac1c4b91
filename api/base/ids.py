"""Global ids read as primary keys of one node type."""

from __future__ import annotations

from django.utils.translation import gettext as _
from strawberry import relay

from api.errors import GraphQLCodedError
from api.nodes import is_pk


def pk_of(global_id: relay.GlobalID, type_name: str) -> int:
    if global_id.type_name != type_name or not is_pk(global_id.node_id):
        raise GraphQLCodedError(_("This id is not a %(type)s id.") % {"type": type_name}, "invalid_id")
    return int(global_id.node_id)


def pk_or_none(global_id: relay.GlobalID, type_name: str) -> int | None:
    """The primary key ``global_id`` names if it is an id of ``type_name``; None otherwise."""
    if global_id.type_name != type_name or not is_pk(global_id.node_id):
        return None
    return int(global_id.node_id)

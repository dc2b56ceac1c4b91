"""What posting a notice to a grid can refuse."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="GridErrorCode", description="Why a change to the grid was refused.")
class GridErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    not_found = auto()
    required = auto()
    too_long = auto()


GridError = error_type(GridErrorCode, name="GridError", description="A refused change to the grid.")

"""What a certificate's status change can refuse."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="CertificateErrorCode", description="Why a change to a certificate was refused.")
class CertificateErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    not_found = auto()
    required = auto()
    too_long = auto()
    stale = auto()
    transition_not_allowed = auto()
    unknown_action = auto()
    unknown_field = auto()
    not_a_choice = auto()
    out_of_range = auto()
    inactive = auto()
    wrong_holder = auto()


CertificateError = error_type(CertificateErrorCode, name="CertificateError",
                              description="A refused change to a certificate.")

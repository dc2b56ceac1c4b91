"""What a certificate's status change and an application can refuse."""

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


@error_enum(name="ApplicationErrorCode", description="Why something done to an application was refused.")
class ApplicationErrorCode(ErrorCode):
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
    not_editable = auto()
    missing_materials = auto()
    not_confirmed = auto()
    digest_mismatch = auto()
    unknown_material = auto()
    unknown_workflow = auto()
    duplicate_application = auto()
    own_case = auto()
    invalid_materials = auto()
    file_too_large = auto()
    image_too_large = auto()
    not_a_pdf = auto()
    not_an_image = auto()
    pdf_damaged = auto()
    pdf_encrypted = auto()
    pdf_too_complex = auto()
    pdf_too_many_pages = auto()
    unsupported_format = auto()
    unsupported_type = auto()


ApplicationError = error_type(ApplicationErrorCode, name="ApplicationError",
                              description="A refused action on an application.")

"""What logging in, refreshing and logging out can refuse (``accounts.services.AuthError``'s codes)."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="AccountErrorCode", description="Why a login, a token refresh or a logout was refused.")
class AccountErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    invalid_credentials = auto()
    throttled = auto()
    token_invalid = auto()
    token_expired = auto()
    token_revoked = auto()
    token_reused = auto()


AccountError = error_type(AccountErrorCode, name="AccountError", description="A refused login, token refresh or logout.")

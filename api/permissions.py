"""Field-level gates.  Object-level restriction lives in selectors, not here."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from strawberry.permission import BasePermission

from api.context import viewer_user


class IsAuthenticated(BasePermission):
    error_extensions = {"code": "unauthenticated"}

    @property
    def message(self) -> str:  # translated at the time of the request
        return _("Log in first: this needs an access token.")

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        user = viewer_user(info)
        return bool(user and user.is_authenticated and user.is_active)


class CanReadAudit(BasePermission):
    error_extensions = {"code": "permission_denied"}

    @property
    def message(self) -> str:
        return _("Only auditors may read the audit log.")

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        user = viewer_user(info)
        return bool(user and user.is_authenticated and user.may_read_audit)

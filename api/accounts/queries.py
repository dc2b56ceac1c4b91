"""Who am I."""

from __future__ import annotations

import strawberry

from api.accounts.types import UserType
from api.context import viewer
from api.fields import field
from api.permissions import IsAuthenticated


@strawberry.type
class AccountQuery:
    @field(permission_classes=[IsAuthenticated], description="The person behind the token.")
    def me(self, info: strawberry.Info) -> UserType:
        return viewer(info).user

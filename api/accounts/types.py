"""Departments and people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from accounts.models import Department, Role, User
from api.fields import django_type, field
from api.nodes import MODEL_ID
from api.restrict import Public, Restricted
from core.i18n import localized
from gridapp.geography.selectors import grids_of_worker

if TYPE_CHECKING:
    from api.grid.types import GridType


@django_type(Department, name="Department")
class DepartmentType(Public, relay.Node):
    _id_attr = MODEL_ID
    code: str
    name_en: str

    @field(only=["name", "name_en"], description="In the reader's language.")
    def name(self, root: Department) -> str:
        return localized(root.name, root.name_en)


RoleEnum = strawberry.enum(Role, name="Role", description="What a person does in OneGrid.")


@django_type(User, name="User")
class UserType(Restricted, relay.Node):
    _id_attr = MODEL_ID
    username: str
    display_name: str
    role: RoleEnum
    department: DepartmentType | None

    @field(description="The role's name in the request's language.")
    def role_label(self, root: User) -> str:
        return str(root.get_role_display())

    @field(only=["pk"], description="The grids this person works in as a grid worker.")
    def grids(self, root: User) -> list[Annotated[GridType, strawberry.lazy("api.grid.types")]]:
        return grids_of_worker(root)  # a queryset, so the optimizer adds what the selection asks for

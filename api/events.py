"""Incidents over GraphQL.  This slice: the merged category taxonomy."""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry import relay

from api.permissions import IsAuthenticated
from core.i18n import localized
from gridapp.models import EventCategory, Platform, Severity

PlatformEnum = strawberry.enum(Platform, name="Platform")
SeverityEnum = strawberry.enum(Severity, name="Severity")


@strawberry_django.type(EventCategory, name="EventCategory")
class EventCategoryType(relay.Node):
    code: str = strawberry_django.field(description="Major and minor code, e.g. 01-02.")
    major_code: str
    platform: PlatformEnum
    severity: SeverityEnum
    photo_required: bool
    accept_hours: int
    dispatch_hours: int
    handle_hours: int
    verify_hours: int
    department_code: str = strawberry_django.field(field_name="department__code")

    @strawberry_django.field(only=["name", "name_en"], description="In the reader's language.")
    def name(self, root: EventCategory) -> str:
        return root.display_name()

    @strawberry_django.field(only=["major_name", "major_name_en"], description="In the reader's language.")
    def major_name(self, root: EventCategory) -> str:
        return root.display_major_name()

    @strawberry_django.field(only=["department__name", "department__name_en"])
    def department_name(self, root: EventCategory) -> str:
        return localized(root.department.name, root.department.name_en)


@strawberry.type
class EventQuery:
    @strawberry_django.field(permission_classes=[IsAuthenticated],
                             description="Active event categories, by code; optionally one platform or major class.")
    def event_categories(self, info: strawberry.Info, platform: PlatformEnum | None = None,
                         major_code: str | None = None) -> list[EventCategoryType]:
        categories = EventCategory.objects.filter(active=True).order_by("code")
        if platform is not None:
            categories = categories.filter(platform=platform.value)
        if major_code is not None:
            categories = categories.filter(major_code=major_code[:2])
        return categories

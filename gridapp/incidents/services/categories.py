"""The incident taxonomy in the database: categories seeded from ``gridapp.incidents.taxonomy``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Department
from gridapp.incidents.models import EventCategory
from gridapp.incidents.taxonomy import CATEGORIES, MAJORS


def event_categories_seed() -> int:
    """Create or update the taxonomy of ``gridapp.incidents.taxonomy`` (idempotent); returns how many rows changed.

    Who may call: ``seed_demo`` and deployments.  Raises ``ValidationError``
    (code ``unknown_department``) when a category names a department that does
    not exist.  Categories edited in the admin are brought back to the seeded
    values only for the fields the taxonomy defines.
    """
    departments = {d.code: d for d in Department.objects.filter(code__in={e.department for e in CATEGORIES})}
    missing = sorted({e.department for e in CATEGORIES} - set(departments))
    if missing:
        raise ValidationError(_("Unknown department %(codes)s.") % {"codes": ", ".join(missing)},
                              code="unknown_department")
    changed = 0
    with transaction.atomic():
        existing = {c.code: c for c in EventCategory.objects.all()}
        for entry in CATEGORIES:
            major = entry.code[:2]
            major_name, major_name_en, platform = MAJORS[major]
            accept, dispatch, handle, verify = entry.hours
            values = {
                "major_code": major, "major_name": major_name, "major_name_en": major_name_en, "name": entry.name,
                "name_en": entry.name_en, "platform": platform, "department": departments[entry.department],
                "severity": entry.severity, "photo_required": entry.photo_required, "accept_hours": accept,
                "dispatch_hours": dispatch, "handle_hours": handle, "verify_hours": verify,
            }
            category = existing.get(entry.code)
            if category is None:
                category = EventCategory(code=entry.code, **values)
                category.full_clean()
                category.save()
                changed += 1
            elif any(getattr(category, field) != value for field, value in values.items()):
                for field, value in values.items():
                    setattr(category, field, value)
                category.full_clean()
                category.save()
                changed += 1
    return changed

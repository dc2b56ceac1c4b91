"""How often one person may call an expensive mutation.

Counted from the audit log (every mutation call writes a row, ``api.extensions.AuditMutation``), so every ASGI
process agrees without a shared cache, as login throttling does.  Calls refused by the limit do not count: a
client that keeps retrying gets in again once its earlier calls are a minute old.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import ngettext

from core.models import AuditEntry

RATE_LIMITED = "rate_limited"


def mutation_rate_check(*, user, mutation: str, per_minute: int, message: str) -> None:
    """Refuse ``user``'s call of ``mutation`` after ``per_minute`` calls in the last minute.

    ``message`` names what is limited (translated, e.g. "Too many reports."); the seconds to wait are appended.
    Raises ``ValidationError`` with code ``rate_limited``.
    """
    window = timedelta(minutes=1)
    recent = list(
        AuditEntry.objects.filter(action=f"mutation.{mutation}", actor_label=user.get_username(),
                                  at__gte=timezone.now() - window)
        .exclude(error_code=RATE_LIMITED).order_by("-at").values_list("at", flat=True)[:max(per_minute, 1)]
    )
    if len(recent) < per_minute:
        return
    wait = max(1, int((recent[-1] + window - timezone.now()).total_seconds())) if recent else 60
    retry = ngettext("Try again in %(seconds)d second.", "Try again in %(seconds)d seconds.", wait) % {"seconds": wait}
    raise ValidationError(f"{message} {retry}", code=RATE_LIMITED)

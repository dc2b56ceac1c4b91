"""Event photos over HTTP, behind signed links that expire.

The GraphQL answer that lists a photo is the permission check: it hands out a
link signed for that photo and variant, valid until the end of the next
``PHOTO_URL_TTL_SECONDS`` window.  Links are stable within a window, so phones
can cache thumbnails; a forged, altered or expired link is refused.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.signing import BadSignature, Signer
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from api.errors import json_error
from gridapp.models import EventPhoto

_signer = Signer(salt="onegrid.photo")
VARIANTS = {"i": "image", "t": "thumbnail"}


def _window() -> int:
    return max(1, settings.PHOTO_URL_TTL_SECONDS // 2)


def photo_url(photo_id: int, variant: str = "t") -> str:
    """A link to one photo (``i``) or its thumbnail (``t``), valid for at least ``PHOTO_URL_TTL_SECONDS / 2``."""
    expires = (int(time.time()) // _window() + 2) * _window()
    return f"/photos/{_signer.sign(f'{photo_id}.{variant}.{expires}')}"


@require_GET
def photo_view(request: HttpRequest, token: str):
    try:
        photo_id, variant, expires = _signer.unsign(token).split(".")
    except (BadSignature, ValueError):
        return json_error(404, "not_found", _("No such photo."))
    if int(expires) < time.time():
        return json_error(410, "link_expired", _("This photo link has expired."))
    name = EventPhoto.objects.filter(pk=int(photo_id)).values_list(VARIANTS.get(variant, "thumbnail"), flat=True).first()
    if name is None or not default_storage.exists(name):
        return json_error(404, "not_found", _("No such photo."))
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = f"private, max-age={_window()}"
    response["X-Content-Type-Options"] = "nosniff"
    return response

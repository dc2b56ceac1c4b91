"""Stored files over HTTP, behind signed links that expire: one view for every registered file kind.

The GraphQL answer that lists an object is the permission check: a field of a restricted type hands out a
link signed for that object and variant (``core.files.file_link_sign``), valid until the end of the next
half time-to-live window.  Links are stable within a window, so phones can cache thumbnails; a forged,
altered or expired link is refused in the one error shape, and the file is streamed through the storage API.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from api.errors import json_error
from core.files import FileLinkRefused, file_link_open, file_link_sign
from gridapp.incidents.photos import EVENT_PHOTO


def photo_url(photo_id: int, variant: str = "t") -> str:
    """A link to one event photo (``i``) or its thumbnail (``t``), valid for at least
    ``PHOTO_URL_TTL_SECONDS / 2``: for a photo read through the viewer's restriction."""
    return file_link_sign(kind=EVENT_PHOTO, pk=photo_id, variant=variant)


@require_GET
def file_view(request: HttpRequest, token: str, kind: str):
    """Serve the file a link of ``kind`` points to, with the type its checks found and a disposition."""
    try:
        served = file_link_open(kind=kind, token=token)
    except FileLinkRefused as refused:
        return json_error(refused.status, refused.code, refused.message)
    response = FileResponse(served.file, content_type=served.content_type, as_attachment=served.attachment,
                            filename=served.filename)
    response["Cache-Control"] = f"private, max-age={served.max_age}"
    response["X-Content-Type-Options"] = "nosniff"
    return response

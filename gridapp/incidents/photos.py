"""Event photos as a kind of file, and the distance their EXIF position is judged by.

Photos come straight from residents' and grid workers' phones, so they are untrusted input; they are checked,
decoded under limits and re-encoded without metadata by the one implementation every image in OneGrid goes
through, ``core.files.images`` (``photo_ingest`` is its ``image_ingest``).  Event photos are the file kind
``event_photo``: stored through the storage API under ``events/``, linked as ``/photos/<signed>`` with the salt
and time to live their links have always had, seen by whoever the API shows the event to.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext_lazy as _

from core.files import FileKind, Images
from core.files.images import (
    THUMBNAIL_SIDE,
    IngestedImage,
    image_ingest,
    image_pixels,
)

__all__ = ["EVENT_PHOTO", "EVENT_PHOTOS", "THUMBNAIL_SIDE", "IngestedPhoto", "distance_m", "photo_ingest",
           "photo_pixels"]

EVENT_PHOTO = "event_photo"
#: Registered in ``GridappConfig.ready``; variant ``i`` is the photo, ``t`` its thumbnail.
EVENT_PHOTOS = FileKind(
    name=EVENT_PHOTO, model="gridapp.EventPhoto", variants={"i": "image", "t": "thumbnail"}, accepts=(Images(),),
    folder="events", link_path="photos", salt="onegrid.photo", ttl_setting="PHOTO_URL_TTL_SECONDS",
    not_found_message=_("No such photo."), expired_message=_("This photo link has expired."))

IngestedPhoto = IngestedImage
photo_ingest = image_ingest
photo_pixels = image_pixels
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the sphere that best fits the ellipsoid overall


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points; within ~0.5% of the ellipsoid."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))

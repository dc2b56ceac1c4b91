"""The evidence picture of a situation: the snapshot with the zone outlined, the boxes that make the case
labelled, and a caption with the camera, the finding and the time.  JPEG bytes, no EXIF; the incident's photo
pipeline re-encodes it and makes the thumbnail."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from django.utils import timezone
from PIL import ImageDraw, ImageFont

from vision.detections import Detection, Point
from vision.frames import Frame, frame_image

ZONE = (255, 196, 0)
BOX = (230, 40, 40)
CAPTION_BACKGROUND = (0, 0, 0)
TEXT = (255, 255, 255)


@functools.cache
def _font(size: int) -> ImageFont.ImageFont:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default()


def evidence_render(image: Frame, *, detections: Sequence[Detection], zone: Sequence[Point] | None,
                    caption: str, at: datetime) -> bytes:
    """Draw the case on a copy of ``image`` and return it as JPEG.  ``caption`` should be ASCII or Latin
    (the bundled font has no CJK glyphs): the camera's code and the finding."""
    picture = frame_image(image).copy()
    width, height = picture.size
    draw = ImageDraw.Draw(picture)
    stroke = max(2, round(min(width, height) / 300))
    font = _font(max(12, round(min(width, height) / 40)))
    if zone:
        outline = [(x * width, y * height) for x, y in zone]
        draw.line([*outline, outline[0]], fill=ZONE, width=stroke)
    for detection in detections:
        x1, y1, x2, y2 = detection.box
        box = (x1 * width, y1 * height, x2 * width, y2 * height)
        draw.rectangle(box, outline=BOX, width=stroke)
        label = f"{detection.label} {detection.confidence:.2f}"
        left, top, right, bottom = draw.textbbox((box[0], box[1]), label, font=font)
        lift = bottom - top + 2 * stroke
        anchor_y = box[1] - lift if box[1] - lift >= 0 else box[1]
        draw.rectangle((box[0], anchor_y, box[0] + right - left + 2 * stroke, anchor_y + lift), fill=BOX)
        draw.text((box[0] + stroke, anchor_y + stroke), label, fill=TEXT, font=font)
    stamp = f"{caption}  {timezone.localtime(at):%Y-%m-%d %H:%M:%S}"
    left, top, right, bottom = draw.textbbox((0, 0), stamp, font=font)
    band = bottom - top + 4 * stroke
    draw.rectangle((0, height - band, width, height), fill=CAPTION_BACKGROUND)
    draw.text((2 * stroke, height - band + stroke), stamp, fill=TEXT, font=font)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return out.getvalue()

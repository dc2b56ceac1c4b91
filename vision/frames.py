"""A decoded picture as the pipeline passes it around: BGR pixels (``numpy.ndarray``, height x width x 3), as
OpenCV decodes them and Ultralytics takes them without a copy.  Tests and the photo suggestions may pass a PIL
image (RGB) instead; these helpers accept both."""

from __future__ import annotations

import numpy as np
from PIL import Image

Frame = np.ndarray | Image.Image


def frame_size(frame: Frame) -> tuple[int, int]:
    """(width, height)."""
    if isinstance(frame, Image.Image):
        return frame.size
    height, width = frame.shape[:2]
    return width, height


def frame_image(frame: Frame) -> Image.Image:
    """The picture as a PIL image (RGB), for drawing on: a new image for BGR pixels, the image itself otherwise."""
    if isinstance(frame, Image.Image):
        return frame if frame.mode == "RGB" else frame.convert("RGB")
    return Image.fromarray(np.ascontiguousarray(frame[..., ::-1]))

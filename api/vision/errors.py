"""What boxing a photo and asking for a photo's suggestions can refuse, and how a suggestion ticket can end."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="VisionErrorCode", description="Why boxing a photo or suggesting categories for it failed.")
class VisionErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    # boxing
    not_found = auto()
    invalid_box = auto()
    too_many_boxes = auto()
    unknown_object = auto()
    # suggestions
    detectors_unavailable = auto()
    busy = auto()
    detectors_failed = auto()
    suggestions_timeout = auto()
    # the photo
    file_too_large = auto()
    unsupported_type = auto()
    not_an_image = auto()
    unsupported_format = auto()
    image_too_large = auto()


VisionError = error_type(VisionErrorCode, name="VisionError", description="A refused boxing or suggestion.")

"""What the parks' mutations can refuse."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="ParkErrorCode", description="Why something asked of a park was refused.")
class ParkErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    not_found = auto()
    required = auto()
    too_long = auto()
    not_a_choice = auto()
    invalid_key = auto()
    invalid_phone = auto()
    invalid_window = auto()
    too_long_visit = auto()
    not_connected = auto()
    invalid_plate = auto()
    plate_taken = auto()
    too_many = auto()
    bad_time = auto()
    already_decided = auto()
    # a barrier's snapshot
    file_too_large = auto()
    unsupported_type = auto()
    not_an_image = auto()
    unsupported_format = auto()
    image_too_large = auto()
    # a promotional video, a playlist
    not_a_video = auto()
    video_damaged = auto()
    not_approved = auto()
    invalid_days = auto()
    # the service board
    own_post = auto()


ParkError = error_type(ParkErrorCode, name="ParkError", description="A refused request to a park.")

"""What reporting an incident and moving events along their lifecycle can refuse: the intake's and the
lifecycle's codes (``gridapp.incidents.services``, the workflow engine's), a photo's (``core.files``) and the
report rate limit's (``api.limits``)."""

from __future__ import annotations

from enum import auto

from api.errors import ErrorCode, error_enum, error_type


@error_enum(name="EventErrorCode", description="Why a report or an action on an event was refused.")
class EventErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    # reporting
    rate_limited = auto()
    unknown_category = auto()
    invalid_coordinates = auto()
    outside_district = auto()
    photo_required = auto()
    too_long = auto()
    # a photo
    too_many_photos = auto()
    photo_location_mismatch = auto()
    file_too_large = auto()
    unsupported_type = auto()
    not_an_image = auto()
    unsupported_format = auto()
    image_too_large = auto()
    # the lifecycle
    not_found = auto()
    unknown_action = auto()
    stale = auto()
    transition_not_allowed = auto()
    required = auto()
    invalid_assignee = auto()
    same_person = auto()
    not_confirmed_on_site = auto()
    invalid_hours = auto()
    extension_pending = auto()
    no_extension = auto()
    too_many = auto()


EventError = error_type(EventErrorCode, name="EventError", description="A refused report or action on an event.")

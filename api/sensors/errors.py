"""What the sensor watch's mutations can refuse, and why a reading of a batch was not kept."""

from __future__ import annotations

import enum
from enum import auto

import strawberry

from api.errors import ErrorCode, error_enum, error_type
from gridapp.sensors.ingest import REFUSALS


@error_enum(name="SensorErrorCode", description="Why something asked of the sensor watch was refused.")
class SensorErrorCode(ErrorCode):
    invalid = auto()
    permission_denied = auto()
    not_found = auto()
    required = auto()
    batch_too_large = auto()
    consent_holds = auto()
    no_consent = auto()


SensorError = error_type(SensorErrorCode, name="SensorError", description="A refused request to the sensor watch.")

#: Why one reading of a batch was refused (``gridapp.sensors.ingest.REFUSALS``); the others are kept.
MeterReadingErrorCode = strawberry.enum(enum.StrEnum("MeterReadingErrorCode", {code: code for code in REFUSALS}),
                                        name="MeterReadingErrorCode",
                                        description="Why a reading was refused (the rest of its batch is kept).")

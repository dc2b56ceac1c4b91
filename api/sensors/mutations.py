"""The sensor watch's writes: a gateway's batch of readings, and consent recorded or withdrawn on a visit."""

from __future__ import annotations

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from strawberry import relay

from api.base.ids import input_pk
from api.context import viewer
from api.mutations import mutation
from api.restrict import Payload
from api.sensors.errors import MeterReadingErrorCode, SensorError
from api.sensors.types import HouseholdType
from gridapp.sensors import services
from gridapp.sensors.ingest import readings_ingest, refusal_message
from gridapp.sensors.models import ReadingSource

#: Refused readings listed one by one in the answer (all of them are counted).
MAX_REFUSED_LISTED = 100


@strawberry.input
class MeterReadingInput:
    meter: str = strawberry.field(description="The meter's serial number.")
    at: str = strawberry.field(description="ISO 8601; without an offset, the district's time.")
    litres: float = strawberry.field(description="The meter's counter (cumulative litres).")


@strawberry.input
class SubmitMeterReadingsInput:
    readings: list[MeterReadingInput]


@strawberry.type(name="RefusedReading")
class RefusedReadingType:
    index: int = strawberry.field(description="Its place in the batch (from 0).")
    code: MeterReadingErrorCode
    message: str


@strawberry.type(name="RefusedReadingCount")
class RefusedCountType:
    code: MeterReadingErrorCode
    count: int


@strawberry.type
class SubmitMeterReadingsPayload(Payload):
    errors: list[SensorError] = strawberry.field(default_factory=list)
    accepted: int = 0
    duplicates: int = strawberry.field(default=0, description="Readings kept before (same meter, same time).")
    refused_counts: list[RefusedCountType] = strawberry.field(default_factory=list)
    refused: list[RefusedReadingType] = strawberry.field(
        default_factory=list, description=f"The first {MAX_REFUSED_LISTED} refused readings.")


@strawberry.input
class RecordHouseholdConsentInput:
    household_id: relay.GlobalID
    given_by: str = strawberry.field(description="Who gave it: the resident, or their guardian.")
    relation: str = strawberry.field(default="本人", description="Their relation to the resident.")


@strawberry.input
class WithdrawHouseholdConsentInput:
    household_id: relay.GlobalID
    withdrawn_by: str


@strawberry.type
class HouseholdPayload(Payload):
    errors: list[SensorError] = strawberry.field(default_factory=list)
    household: HouseholdType | None = None


def _submitter(info: strawberry.Info):
    user = viewer(info).user
    if not (user.commands_district or user.has_perm("gridapp.submit_readings")):
        raise PermissionDenied(_("Only a meters' gateway (or the command centre) submits readings."))
    return user


@strawberry.type
class SensorMutation:
    @mutation(description="A meters' gateway submits readings (at most SENSOR_BATCH_MAX, 2,000 by default, a batch; any order, sent "
                          "again at will): each is kept once per meter and time; a bad one is refused with its code "
                          "and counted, the others kept.")
    def submit_meter_readings(self, info: strawberry.Info,
                              input: SubmitMeterReadingsInput) -> SubmitMeterReadingsPayload:
        _submitter(info)
        if len(input.readings) > settings.SENSOR_BATCH_MAX:
            raise ValidationError(_("A batch holds at most %(max)d readings; send the rest in the next.")
                                  % {"max": settings.SENSOR_BATCH_MAX}, code="batch_too_large")
        result = readings_ingest(readings=[(r.meter, r.at, r.litres) for r in input.readings],
                                 source=ReadingSource.GATEWAY)
        return SubmitMeterReadingsPayload(
            accepted=result.accepted, duplicates=result.duplicates,
            refused_counts=[RefusedCountType(code=MeterReadingErrorCode(code), count=count)
                            for code, count in result.counts().items()],
            refused=[RefusedReadingType(index=index, code=MeterReadingErrorCode(code), message=refusal_message(code))
                     for index, code in result.refused[:MAX_REFUSED_LISTED]])

    @mutation(description="Record the consent the resident (or their guardian) gave: the watch starts.")
    def record_household_consent(self, info: strawberry.Info, input: RecordHouseholdConsentInput) -> HouseholdPayload:
        pk = input_pk(input.household_id, "Household", field="householdId", message=_("Household not found."))
        consent = services.consent_record(actor=viewer(info).user, household_id=pk, given_by=input.given_by,
                                          relation=input.relation)
        return HouseholdPayload(household=consent.household)

    @mutation(description="Withdraw the consent: the watch stops and the readings are hidden at once.")
    def withdraw_household_consent(self, info: strawberry.Info,
                                   input: WithdrawHouseholdConsentInput) -> HouseholdPayload:
        pk = input_pk(input.household_id, "Household", field="householdId", message=_("Household not found."))
        consent = services.consent_withdraw(actor=viewer(info).user, household_id=pk,
                                            withdrawn_by=input.withdrawn_by)
        return HouseholdPayload(household=consent.household)

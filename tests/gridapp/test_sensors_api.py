"""The sensor watch through the schema, as the gateway, the grid worker's phone and the command centre use it: a
gateway's batch (bad readings typed and counted, the good kept, a batch too large refused), a household's page (its
incidents, its water by day, its chart in Chinese), consent withdrawn on a visit, and nobody else seeing any of it."""

from __future__ import annotations

import io
import warnings
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from PIL import Image
from strawberry.relay import to_base64

from accounts.models import Role
from gridapp.sensors.models import MeterReading, ReadingRefusal
from gridapp.sensors.services import consent_record, household_register, watch_sweep
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SUBMIT = """mutation($input: SubmitMeterReadingsInput!) { submitMeterReadings(input: $input) {
  errors { code message } accepted duplicates refusedCounts { code count } refused { index code message } } }"""
HOUSEHOLD = """query($id: ID!) { node(id: $id) { ... on Household { code residentName contactPhone watched
  meter { serial lastReadingAt } consents { givenBy withdrawnAt } usageChartUrl
  conditions { kind startedAt clearedAt event { caseNumber status category { code } assignee { username } } } } } }"""
USAGE = """query($id: ID!, $days: Int!) { householdUsage(householdId: $id, days: $days) { totalLitres
  days { day litres } refused { code count } } }"""
WITHDRAW = """mutation($input: WithdrawHouseholdConsentInput!) { withdrawHouseholdConsent(input: $input) {
  errors { code field } household { watched consents { givenBy withdrawnBy withdrawnAt } } } }"""
RECORD = """mutation($input: RecordHouseholdConsentInput!) { recordHouseholdConsent(input: $input) {
  errors { code } household { watched } } }"""


NOW = timezone.now()


def hours_ago(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).isoformat()


@pytest.fixture
def home(users, event_categories):
    now = timezone.now()
    household = household_register(
        code="hh-9", address="太平路 9 号 1 单元 502", lng=120.302, lat=36.002, resident_name="赵桂兰",
        resident_phone="13800000009", contact_name="赵军", contact_phone="13800000010", emergency_name="钱梅",
        emergency_phone="13800000011", meter_serial="WM-9", meter_installed_at=now - timedelta(days=3))
    consent_record(actor=users["worker"], household_id=household.pk, given_by="赵桂兰", at=now - timedelta(days=3))
    return household


@pytest.fixture
def gateway(db):
    user = UserFactory(username="meter-gateway", role=Role.CITIZEN)
    user.user_permissions.add(Permission.objects.get(codename="submit_readings"))
    return user


def test_a_gateways_batch_keeps_the_good_readings_and_types_and_counts_the_bad(home, gateway, users, gql, token_for):
    readings = [{"meter": "WM-9", "at": hours_ago(30 - hour), "litres": 100.0} for hour in range(30)]
    readings += [{"meter": "WM-9", "at": hours_ago(5), "litres": 100.0},  # sent again
                 {"meter": "WM-9", "at": hours_ago(-2), "litres": 100.0},
                 {"meter": "WM-X", "at": hours_ago(1), "litres": 3.0},
                 {"meter": "WM-9", "at": "not a time", "litres": 100.0},
                 {"meter": "WM-9", "at": hours_ago(0.5), "litres": -5.0},
                 {"meter": "WM-9", "at": hours_ago(0.25), "litres": 50.0}]
    answer = gql(SUBMIT, {"input": {"readings": readings}}, token=token_for(gateway)).data["submitMeterReadings"]
    assert (answer["errors"], answer["accepted"], answer["duplicates"]) == ([], 30, 1)
    assert [(r["index"], r["code"]) for r in answer["refused"]] == [
        (31, "future_timestamp"), (32, "unknown_meter"), (33, "invalid_time"), (34, "negative_volume"),
        (35, "counter_backwards")]
    assert {c["code"]: c["count"] for c in answer["refusedCounts"]} == {
        "future_timestamp": 1, "unknown_meter": 1, "invalid_time": 1, "negative_volume": 1, "counter_backwards": 1}
    assert answer["refused"][4]["message"]  # a sentence for the gateway's log
    assert MeterReading.objects.count() == 30
    # only a gateway (or the command centre) submits readings; a grid worker cannot forge a resident's water
    refused = gql(SUBMIT, {"input": {"readings": readings[:1]}}, token=token_for(users["worker"]))
    assert refused.data["submitMeterReadings"]["errors"][0]["code"] == "permission_denied"
    assert gql(SUBMIT, {"input": {"readings": readings[:1]}}).error_codes == ["unauthenticated"]


def test_a_batch_too_large_is_refused_whole_with_a_typed_error(home, gateway, gql, token_for, settings):
    settings.SENSOR_BATCH_MAX = 50
    readings = [{"meter": "WM-9", "at": hours_ago(60 - i / 60), "litres": 100.0 + i} for i in range(51)]
    answer = gql(SUBMIT, {"input": {"readings": readings}}, token=token_for(gateway)).data["submitMeterReadings"]
    assert answer["errors"][0]["code"] == "batch_too_large" and "50" in answer["errors"][0]["message"]
    assert answer["accepted"] == 0 and not MeterReading.objects.exists()
    # 100,000 readings in one request: the request's own limit answers before any of it is parsed
    flood = [{"meter": "WM-9", "at": hours_ago(1), "litres": 1.0}] * 100_000
    response = gql(SUBMIT, {"input": {"readings": flood}}, token=token_for(gateway))
    assert response.status == 413 and response.error_codes == ["document_too_large"]


def test_the_household_page_shows_the_incident_the_water_and_the_chart_to_its_grid_worker(home, gateway, users, gql,
                                                                                         token_for):
    readings = [("WM-9", timezone.now() - timedelta(hours=30 - hour), 100.0 + (20 if hour >= 2 else 0))
                for hour in range(30)]
    from gridapp.sensors.ingest import readings_ingest

    readings_ingest(readings=readings, source="gateway")
    watch_sweep()
    household_id = to_base64("Household", home.pk)
    page = gql(HOUSEHOLD, {"id": household_id}, token=token_for(users["worker"])).data["node"]
    assert page["residentName"] == "赵桂兰" and page["meter"]["serial"] == "WM-9" and page["watched"]
    [condition] = page["conditions"]
    assert condition["kind"] == "NO_USE" and condition["event"]["category"]["code"] == "13-02"
    assert condition["event"]["status"] == "DISPATCHED" and condition["event"]["assignee"]["username"] == "worker"
    usage = gql(USAGE, {"id": household_id, "days": 3}, token=token_for(users["worker"])).data["householdUsage"]
    assert usage["totalLitres"] == 20.0 and len(usage["days"]) == 3
    token = token_for(users["worker"])
    for language in ("zh-hans", "en"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response = Client().get(f"{page['usageChartUrl']}&days=14&lang={language}",
                                    HTTP_AUTHORIZATION=f"Bearer {token}")
        assert not [w for w in caught if "missing from font" in str(w.message)]  # the Chinese address drawn
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == (1920, 1080)
    # personal data: the other grid's worker, the department, a citizen see nothing; nor their charts
    for viewer in ("worker2", "urban", "citizen"):
        assert gql(HOUSEHOLD, {"id": household_id}, token=token_for(users[viewer])).data["node"] is None, viewer
        denied = gql(USAGE, {"id": household_id, "days": 3}, token=token_for(users[viewer]))
        assert denied.error_codes == ["not_found"], viewer
        chart = Client().get(page["usageChartUrl"], HTTP_AUTHORIZATION=f"Bearer {token_for(users[viewer])}")
        assert chart.status_code == 404, viewer
    assert Client().get(page["usageChartUrl"]).status_code == 401


def test_a_withdrawn_consent_hides_the_water_at_once_and_can_be_given_again(home, users, gql, token_for,
                                                                            supervisors):
    from gridapp.sensors.ingest import readings_ingest

    readings_ingest(readings=[("WM-9", timezone.now() - timedelta(hours=h), 500.0 - h) for h in range(10)],
                    source="gateway")
    household_id = to_base64("Household", home.pk)
    chief = token_for(supervisors["community"])
    assert gql(USAGE, {"id": household_id, "days": 2}, token=chief).data["householdUsage"]["totalLitres"] == 9.0
    # the auditor reads but writes nothing; the other grid's worker does not find the household
    for viewer, code in ((users["auditor"], "not_found"), (users["worker2"], "not_found")):
        answer = gql(WITHDRAW, {"input": {"householdId": household_id, "withdrawnBy": "赵军"}},
                     token=token_for(viewer)).data["withdrawHouseholdConsent"]
        assert answer["errors"][0]["code"] == code
    answer = gql(WITHDRAW, {"input": {"householdId": household_id, "withdrawnBy": "赵军"}},
                 token=token_for(users["worker"])).data["withdrawHouseholdConsent"]
    assert answer["errors"] == [] and answer["household"]["watched"] is False
    assert answer["household"]["consents"][0]["withdrawnBy"] == "赵军"
    usage = gql(USAGE, {"id": household_id, "days": 2}, token=chief).data["householdUsage"]
    assert usage == {"totalLitres": 0.0, "days": [], "refused": []}
    page = gql(HOUSEHOLD, {"id": household_id}, token=chief).data["node"]
    assert page["meter"]["lastReadingAt"] is None and page["watched"] is False
    again = gql(WITHDRAW, {"input": {"householdId": household_id, "withdrawnBy": "赵军"}},
                token=token_for(users["worker"])).data["withdrawHouseholdConsent"]
    assert again["errors"][0]["code"] == "no_consent"
    given = gql(RECORD, {"input": {"householdId": household_id, "givenBy": "赵桂兰"}},
                token=token_for(users["worker"])).data["recordHouseholdConsent"]
    assert given == {"errors": [], "household": {"watched": True}}
    twice = gql(RECORD, {"input": {"householdId": household_id, "givenBy": "赵桂兰"}},
                token=token_for(users["worker"])).data["recordHouseholdConsent"]
    assert twice["errors"][0]["code"] == "consent_holds"
    assert ReadingRefusal.objects.count() == 0

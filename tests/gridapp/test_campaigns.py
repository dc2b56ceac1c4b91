"""Campaign ledgers: the demo campaign's report reads as the real one did; a case found again in a later round is
the same case; the look-back round re-inspects the finished cases and a recurrence shows in the ledger; a retried
update from a phone changes nothing; every case is seen and worked only by whom its grid says."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from strawberry.relay import to_base64

from gridapp.campaigns.demo import demo_campaign_create
from gridapp.campaigns.models import CampaignCase, CaseHistory, CaseStatus, RoundKind
from gridapp.campaigns.selectors import campaign_ledger
from gridapp.campaigns.services import look_back, round_open
from gridapp.geography.services import grid_assign_worker

pytestmark = pytest.mark.django_db

LEDGER = """query($id: ID!) { campaignLedger(campaignId: $id) { recurred open
  outcomes { typeCode status cases areaM2 } lines { typeCode status cases areaM2 } } }"""
RECORD = """mutation($input: RecordCampaignCaseInput!) { recordCampaignCase(input: $input) {
  errors { code field } sighted case { id number status } candidates { metres number caseId } } }"""
ACT = """mutation($input: ActOnCampaignCaseInput!) { actOnCampaignCase(input: $input) {
  errors { code field } case { status version availableActions } } }"""
LOOK_BACK = """mutation($input: LookBackCampaignCaseInput!) { lookBackCampaignCase(input: $input) {
  errors { code field } case { status recurrences outcome } } }"""
CASES = """query($id: ID!, $open: Boolean) { campaignCases(campaignId: $id, open: $open, first: 100) { edges { node { number
  status areaM2 caseType { code } history { action round } } } } }"""


@pytest.fixture
def campaign(users, district):
    return demo_campaign_create()


def outcomes(ledger) -> dict:
    return {(line.type_code, line.status): (line.cases, line.area_m2) for line in ledger.outcomes}


def test_the_demo_ledger_reads_as_the_real_campaigns_report(campaign):
    ledger = campaign_ledger(campaign)
    assert outcomes(ledger) == {("green_space", "rectified"): (11, Decimal("670.0")),
                                ("illegal_structure", "demolished"): (20, Decimal("741.0"))}
    assert [case.status for case in ledger.open_cases] == [CaseStatus.PLAN_AGREED, CaseStatus.IN_PROGRESS]
    out = StringIO()
    call_command("campaign_report", stdout=out)
    text = out.getvalue()
    assert "违法建筑 已拆除：20 处，741.0 m²" in text and "毁绿占绿 已整改：11 处，670.0 m²" in text, text
    english = StringIO()
    call_command("campaign_report", "hill-parks", "--language", "en", stdout=english)
    assert "违法建筑 Demolished: 20, 741.0 m²" in english.getvalue()
    # the second round found three of the first round's cases again: sightings, not cases
    assert CampaignCase.objects.filter(campaign=campaign).count() == 33
    assert CaseHistory.objects.filter(case__campaign=campaign, action="sighted").count() == 3


def test_a_recurrence_in_the_look_back_round_reopens_the_case_and_changes_the_report(campaign, users, gql, token_for):
    operator = token_for(users["operator"])
    structure = CampaignCase.objects.filter(campaign=campaign, case_type__code="illegal_structure",
                                            status=CaseStatus.DEMOLISHED).order_by("number").first()
    case_id = to_base64("CampaignCase", structure.pk)
    early = gql(LOOK_BACK, {"input": {"caseId": case_id, "recurred": True}}, token=operator)
    assert early.data["lookBackCampaignCase"]["errors"][0]["code"] == "no_open_round"
    round_open(actor=users["operator"], campaign=campaign, kind=RoundKind.LOOK_BACK)
    came_back = gql(LOOK_BACK, {"input": {"caseId": case_id, "recurred": True, "note": "原址复建铁皮棚",
                                      "clientRequestId": "phone-1-0001"}}, token=operator)
    assert came_back.data["lookBackCampaignCase"] == {"errors": [], "case": {
        "status": "RECURRED", "recurrences": 1, "outcome": ""}}
    # the phone did not hear the answer and sends it again: the same update, nothing more
    again = gql(LOOK_BACK, {"input": {"caseId": case_id, "recurred": True, "clientRequestId": "phone-1-0001"}},
                token=operator)
    assert again.data["lookBackCampaignCase"]["case"]["recurrences"] == 1
    passed = [case.pk for case in CampaignCase.objects.filter(campaign=campaign, status__in=[
        CaseStatus.DEMOLISHED, CaseStatus.RECTIFIED])]
    for pk in passed:
        look_back(actor=users["operator"], case_id=pk, recurred=False)
    answer = gql(LEDGER, {"id": to_base64("Campaign", campaign.pk)}, token=operator).data["campaignLedger"]
    assert answer["recurred"] == 1 and answer["open"] == 3
    assert {(o["typeCode"], o["status"]): (o["cases"], o["areaM2"]) for o in answer["outcomes"]} == {
        ("green_space", "rectified"): (11, 670.0),
        ("illegal_structure", "demolished"): (19, 741.0 - float(structure.area_m2))}
    lines = {(line["typeCode"], line["status"]): line["cases"] for line in answer["lines"]}
    assert lines[("illegal_structure", "recurred")] == 1 and lines[("illegal_structure", "look_back_passed")] == 19
    worked = gql(ACT, {"input": {"caseId": case_id, "action": "RESUME"}}, token=operator).data["actOnCampaignCase"]
    assert worked["case"]["status"] == "IN_PROGRESS" and "FINISH" in worked["case"]["availableActions"]


def test_a_case_found_again_is_the_same_case_once_the_inspector_confirms(users, district, gql, token_for):
    campaign = demo_campaign_create()
    grid_assign_worker(actor=None, grid=district.grid, worker=users["worker"])
    worker = token_for(users["worker"])
    existing = CampaignCase.objects.filter(campaign=campaign, grid=district.grid,
                                           case_type__code="illegal_structure").first()
    assert existing is not None
    round_open(actor=users["operator"], campaign=campaign, kind=RoundKind.INSPECTION)
    near = {"campaignId": to_base64("Campaign", campaign.pk), "typeCode": "illegal_structure",
            "lng": existing.lng + 0.0001, "lat": existing.lat, "areaM2": 30, "site": "原址", "responsibleUnit": "社区"}
    first = gql(RECORD, {"input": near}, token=worker).data["recordCampaignCase"]
    assert first["case"] is None and first["errors"] == []
    assert first["candidates"][0]["number"] == existing.number and first["candidates"][0]["metres"] < 30
    assert first["candidates"][0]["caseId"] == to_base64("CampaignCase", existing.pk)
    confirmed = gql(RECORD, {"input": {**near, "sameAs": to_base64("CampaignCase", existing.pk)}},
                    token=worker).data["recordCampaignCase"]
    assert confirmed["sighted"] is True and confirmed["case"]["number"] == existing.number
    assert CampaignCase.objects.filter(campaign=campaign).count() == 33  # no second case
    far = gql(RECORD, {"input": {**near, "sameAs": to_base64("CampaignCase", existing.pk),
                                 "lng": existing.lng + 0.0006}}, token=worker).data["recordCampaignCase"]  # ~54 m
    assert far["errors"] == [{"code": "not_a_candidate", "field": "sameAs"}]
    another = gql(RECORD, {"input": {**near, "newCase": True, "clientRequestId": "w-1"}},
                  token=worker).data["recordCampaignCase"]
    assert another["case"]["status"] == "LISTED"
    repeat = gql(RECORD, {"input": {**near, "newCase": True, "clientRequestId": "w-1"}},
                 token=worker).data["recordCampaignCase"]
    assert repeat["case"]["number"] == another["case"]["number"]  # the retry is the same listing
    assert CampaignCase.objects.filter(campaign=campaign).count() == 34
    for bad, code in (({"areaM2": -5}, "invalid_area"), ({"typeCode": "nope"}, "unknown_type"),
                      ({"lng": 10.0, "lat": 10.0}, "outside_district"), ({"site": " "}, "required")):
        refused = gql(RECORD, {"input": {**near, "newCase": True, **bad}}, token=worker).data["recordCampaignCase"]
        assert refused["errors"][0]["code"] == code, (bad, refused)
    citizen = gql(RECORD, {"input": {**near, "newCase": True}}, token=token_for(users["citizen"]))
    assert citizen.data["recordCampaignCase"]["errors"][0]["code"] == "permission_denied"


def test_cases_are_seen_like_their_grids(campaign, users, district, gql, token_for):
    campaign_id = to_base64("Campaign", campaign.pk)
    everything = gql(CASES, {"id": campaign_id}, token=token_for(users["operator"])).data["campaignCases"]["edges"]
    assert len(everything) == 33
    grid_assign_worker(actor=None, grid=district.grid, worker=users["worker"])
    mine = gql(CASES, {"id": campaign_id}, token=token_for(users["worker"])).data["campaignCases"]["edges"]
    assert 0 < len(mine) == CampaignCase.objects.filter(campaign=campaign, grid=district.grid).count()
    assert gql(CASES, {"id": campaign_id}, token=token_for(users["citizen"])).data["campaignCases"]["edges"] == []
    assert gql(LEDGER, {"id": campaign_id}, token=token_for(users["citizen"])).error_codes == ["permission_denied"]
    listed = everything[0]["node"]
    assert listed["history"][0] == {"action": "listed", "round": 1}


def test_the_ledger_downloads_as_csv_xlsx_and_a_chinese_pdf(campaign, users, gql, token_for):
    import io

    from django.test import Client
    from openpyxl import load_workbook

    token = token_for(users["operator"])
    exports = gql(LEDGER.replace("recurred open", "recurred open exports"), {"id": to_base64("Campaign", campaign.pk)},
                  token=token).data["campaignLedger"]["exports"]
    client = Client()
    csv, xlsx, pdf = (client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}") for url in exports)
    text = csv.content.decode("utf-8-sig")
    assert csv.status_code == 200 and text.splitlines()[0] == "类型,状态,点位,网格,案件数,面积（m²）"
    assert text.splitlines()[-1] == "合计,,,,33,1462.0"  # 741 + 670 + the two open cases' 21 and 30
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(row=sheet.max_row, column=5).value == 33
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"NotoSansSC" in pdf.content  # the Chinese font travels inside the file
    assert client.get(exports[0]).status_code == 401
    citizen = client.get(exports[0], HTTP_AUTHORIZATION=f"Bearer {token_for(users['citizen'])}")
    assert citizen.status_code == 200 and citizen.content.decode("utf-8-sig").splitlines()[-1] == "合计,,,,0,0.0"


def test_photos_before_and_after_the_work_come_from_the_phone(users, district, gql, token_for):
    from django.test import Client

    from tests.factories import jpeg_bytes

    campaign = demo_campaign_create()
    round_open(actor=users["operator"], campaign=campaign, kind=RoundKind.INSPECTION)
    grid_assign_worker(actor=None, grid=district.grid, worker=users["worker"])
    worker = token_for(users["worker"])
    spot = {"campaignId": to_base64("Campaign", campaign.pk), "typeCode": "green_space", "lng": district.grid.centroid_lng,
            "lat": district.grid.centroid_lat + 0.003, "areaM2": 12.5, "site": "山脚菜地", "responsibleUnit": "社区",
            "newCase": True, "photos": [None]}
    listed = gql.upload(RECORD, {"input": spot}, {"input.photos.0": jpeg_bytes()}, token=worker)
    case = listed.data["recordCampaignCase"]["case"]
    assert listed.data["recordCampaignCase"]["errors"] == [] and case["status"] == "LISTED"
    bad = gql.upload(RECORD, {"input": {**spot, "lat": spot["lat"] + 0.001}}, {"input.photos.0": b"not a photo"},
                     token=worker).data["recordCampaignCase"]
    assert bad["errors"][0]["code"] == "not_an_image" and bad["case"] is None
    operator = token_for(users["operator"])
    for action in ("AGREE_PLAN", "START"):
        gql(ACT, {"input": {"caseId": case["id"], "action": action}}, token=operator)
    finished = gql.upload(ACT, {"input": {"caseId": case["id"], "action": "FINISH", "photos": [None]}},
                          {"input.photos.0": jpeg_bytes()}, token=worker).data["actOnCampaignCase"]
    assert finished["errors"] == [] and finished["case"]["status"] == "RECTIFIED"
    seen = gql("query($id: ID!) { node(id: $id) { ... on CampaignCase { photos { stage url } } } }",
               {"id": case["id"]}, token=worker).data["node"]["photos"]
    assert [photo["stage"] for photo in seen] == ["before", "after"]
    assert Client().get(seen[0]["url"]).status_code == 200
    assert gql("query($id: ID!) { node(id: $id) { id } }", {"id": case["id"]},
               token=token_for(users["citizen"])).data["node"] is None


RAISE = """mutation($input: RaiseCampaignCaseInput!) { raiseCampaignCase(input: $input) {
  errors { code field } case { id number status } } }"""


def test_an_incident_raises_a_case_and_closing_one_updates_the_other(users, district, event_categories, gql,
                                                                       token_for):
    from core.models import Notification
    from gridapp.incidents.services import event_report, event_transition
    from tests.factories import jpeg_bytes

    campaign = demo_campaign_create()
    round_open(actor=users["operator"], campaign=campaign, kind=RoundKind.INSPECTION)
    grid = district.grid

    def incident(lat_offset: float):
        event = event_report(reporter=users["worker"], category_code="01-01", lng=grid.centroid_lng,
                             lat=grid.centroid_lat + lat_offset, description="山脚私搭铁皮棚",
                             photos=[jpeg_bytes()]).event
        event_transition(actor=users["urban"], event_id=event.pk, action="accept")
        event_transition(actor=users["urban"], event_id=event.pk, action="dispatch", assignee=users["urban"])
        return event_transition(actor=users["urban"], event_id=event.pk, action="start")

    first, second = incident(0.0025), incident(-0.0025)
    operator = token_for(users["operator"])

    def raise_case(event, code="illegal_structure"):
        return gql(RAISE, {"input": {"eventId": to_base64("Event", event.pk), "campaignId": to_base64(
            "Campaign", campaign.pk), "typeCode": code, "areaM2": 18, "site": "山脚铁皮棚", "responsibleUnit": "社区",
            "newCase": True}}, token=operator).data["raiseCampaignCase"]

    raised = raise_case(first)
    assert raised["errors"] == [] and raised["case"]["status"] == "LISTED"
    assert raise_case(first)["case"]["number"] == raised["case"]["number"]  # one case per incident
    case = CampaignCase.objects.get(number=raised["case"]["number"])
    assert case.event_id == first.pk and (case.lng, case.lat) == (first.lng, first.lat)
    advert = event_report(reporter=users["worker"], category_code="02-05", lng=grid.centroid_lng,
                          lat=grid.centroid_lat, description="散发小广告").event
    refused = gql(RAISE, {"input": {"eventId": to_base64("Event", advert.pk), "campaignId": to_base64(
        "Campaign", campaign.pk), "typeCode": "illegal_structure", "areaM2": 1, "site": "x", "responsibleUnit": "y",
        "newCase": True}}, token=operator).data["raiseCampaignCase"]
    assert refused["errors"] == [{"code": "not_a_campaign_category", "field": "eventId"}]

    # the case is finished first: the incident's handler is told it can be resolved
    for action in ("AGREE_PLAN", "START", "FINISH"):
        gql(ACT, {"input": {"caseId": raised["case"]["id"], "action": action}}, token=operator)
    told = Notification.objects.filter(recipient=users["urban"], source__startswith="campaign-case-finished").get()
    assert case.number in told.title and first.case_number in told.title

    # the incident is closed first: the case's work finishes with it
    other = CampaignCase.objects.get(number=raise_case(second)["case"]["number"])
    for action in ("AGREE_PLAN", "START"):
        gql(ACT, {"input": {"caseId": to_base64("CampaignCase", other.pk), "action": action}}, token=operator)
    event_transition(actor=users["urban"], event_id=second.pk, action="resolve", note="已拆除",
                     photos=[jpeg_bytes(color=(200, 200, 200))])
    event_transition(actor=users["worker"], event_id=second.pk, action="verify", note="现场已拆除")
    event_transition(actor=users["urban"], event_id=second.pk, action="close")
    other.refresh_from_db()
    assert (other.status, other.outcome) == (CaseStatus.DEMOLISHED, "demolished")
    last = other.history.order_by("-id").first()
    assert (last.action, last.actor_label) == ("finish", "system") and second.case_number in last.note

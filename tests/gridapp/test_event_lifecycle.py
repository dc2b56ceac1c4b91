"""Acceptance: one incident from a worker's photo to a closed case, over HTTP, the websocket and the feed."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from tests.api.test_websocket import issue, open_socket
from tests.factories import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)

#: Inside ``district.grid`` (120.30-120.35 E, 36.00-36.05 N), WGS-84.
SPOT = {"lng": 120.31, "lat": 36.01}

REPORT = """mutation($input: EventReportInput!) { reportEvent(input: $input) {
  errors { code field message }
  event { id caseNumber status department { code } grid { code } category { code } deadline isOverdue
          thumbnailUrl photos { stage url } }
  duplicateOf { id }
} }"""

TRANSITION = """mutation($input: EventTransitionInput!) { transitionEvent(input: $input) {
  errors { code field message } event { status version assignee { username } }
} }"""

DETAIL = """query($id: ID!) { node(id: $id) { ... on Event {
  caseNumber status availableActions
  history { action fromStatus toStatus actor note }
  photos { stage }
} } }"""

EVENT_CHANGED = "subscription($after: String) { eventChanged(after: $after) { cursor kind event { status caseNumber } } }"
CHANGES = "query($after: String) { changes(after: $after, first: 100) { changes { kind objectType nodeId cursor } } }"
EVENTS = "{ events(first: 50) { edges { node { caseNumber } } } }"


async def _drain(client, count: int, timeout: float = 10) -> list[dict]:
    messages = []
    while len(messages) < count:
        message = await client.next(timeout=timeout)
        assert message["type"] == "next", message
        messages.append(message["payload"]["data"]["eventChanged"])
    return messages


async def test_a_worker_report_goes_from_photo_to_closed_case_live_and_in_the_feed(
        users, event_categories, gql, supervisors):
    tokens = {name: await database_sync_to_async(issue)(users[name]) for name in ("worker", "worker2", "urban")}
    call = database_sync_to_async(gql)
    upload = database_sync_to_async(gql.upload)

    _ok, urban_socket = await open_socket(tokens["urban"])
    await urban_socket.subscribe("u", EVENT_CHANGED, {"after": "0"})
    _ok, outsider_socket = await open_socket(tokens["worker2"])
    await outsider_socket.subscribe("o", EVENT_CHANGED, {"after": "0"})
    await asyncio.sleep(0.3)

    # The worker reports a photo of illegal small advertisements in their grid.
    reported = await upload(REPORT, {"input": {"categoryCode": "02-01", **SPOT, "crs": "WGS84",
                                               "description": "小广告贴满电线杆", "photos": [None]}},
                            {"input.photos.0": jpeg_bytes(gps=(SPOT["lng"], SPOT["lat"]))}, token=tokens["worker"])
    payload = reported.data["reportEvent"]
    assert payload["errors"] == [], payload
    event = payload["event"]
    assert event["status"] == "REPORTED" and event["department"]["code"] == "urban"
    assert event["category"]["code"] == "02-01" and event["caseNumber"] and event["deadline"]
    assert event["photos"][0]["stage"] == "REPORT" and event["thumbnailUrl"].startswith("/photos/")
    event_id = event["id"]

    async def fire(who: str, action: str, **extra) -> dict:
        files = extra.pop("files", None)
        variables = {"input": {"eventId": event_id, "action": action, **extra}}
        if files:
            variables["input"]["photos"] = [None]
            answer = await upload(TRANSITION, variables, {"input.photos.0": files}, token=tokens[who])
        else:
            answer = await call(TRANSITION, variables, token=tokens[who])
        result = answer.data["transitionEvent"]
        assert result["errors"] == [], (who, action, result)
        return result["event"]

    assert (await fire("urban", "ACCEPT"))["status"] == "ACCEPTED"
    dispatched = await fire("urban", "DISPATCH", assignee="urban")
    assert dispatched["status"] == "DISPATCHED" and dispatched["assignee"]["username"] == "urban"
    assert (await fire("urban", "START"))["status"] == "IN_PROGRESS"
    # Resolving this category needs a photo of the result.
    missing_photo = await call(TRANSITION, {"input": {"eventId": event_id, "action": "RESOLVE", "note": "已清除"}},
                               token=tokens["urban"])
    assert [e["code"] for e in missing_photo.data["transitionEvent"]["errors"]] == ["photo_required"]
    assert (await fire("urban", "RESOLVE", note="已清除", files=jpeg_bytes(color=(200, 200, 200))))["status"] == "RESOLVED"
    # The verifier is someone other than the resolver: the grid worker checks on site.
    assert (await fire("worker", "VERIFY", note="现场已清理"))["status"] == "VERIFIED"
    closed = await fire("urban", "CLOSE")
    assert closed["status"] == "CLOSED"

    steps = ["event.reported", "event.accept", "event.dispatch", "event.start", "event.resolve", "event.verify",
             "event.close"]
    live = await _drain(urban_socket, len(steps))
    assert [m["kind"] for m in live] == steps
    assert [int(m["cursor"]) for m in live] == sorted(int(m["cursor"]) for m in live)
    assert live[-1]["event"]["status"] == "CLOSED"

    feed = (await call(CHANGES, {"after": "0"}, token=tokens["urban"])).data["changes"]["changes"]
    assert [c["kind"] for c in feed if c["nodeId"] == event_id] == steps
    assert [c["cursor"] for c in feed if c["nodeId"] == event_id] == [m["cursor"] for m in live]

    detail = (await call(DETAIL, {"id": event_id}, token=tokens["urban"])).data["node"]
    assert [(h["action"], h["fromStatus"], h["toStatus"]) for h in detail["history"]] == [
        ("report", None, "REPORTED"), ("accept", "REPORTED", "ACCEPTED"), ("dispatch", "ACCEPTED", "DISPATCHED"),
        ("start", "DISPATCHED", "IN_PROGRESS"), ("resolve", "IN_PROGRESS", "RESOLVED"),
        ("verify", "RESOLVED", "VERIFIED"), ("close", "VERIFIED", "CLOSED")]
    assert detail["history"][0]["actor"].endswith("(worker)") and detail["history"][4]["note"] == "已清除"
    assert [p["stage"] for p in detail["photos"]] == ["REPORT", "RESOLUTION"]
    assert detail["availableActions"] == []  # urban may not reopen; a supervisor or the reporter may

    # worker2 works in another grid: nothing of this case, live, listed, in the feed or by id.
    assert await outsider_socket.nothing(timeout=1.0)
    assert (await call(EVENTS, token=tokens["worker2"])).data["events"]["edges"] == []
    outsider_feed = (await call(CHANGES, {"after": "0"}, token=tokens["worker2"])).data["changes"]["changes"]
    assert [c for c in outsider_feed if c["objectType"] == "gridapp.event"] == []
    assert (await call(DETAIL, {"id": event_id}, token=tokens["worker2"])).data["node"] is None
    # ... and may not act on it either: it does not exist for them.
    refused = await call(TRANSITION, {"input": {"eventId": event_id, "action": "REOPEN", "note": "x"}},
                         token=tokens["worker2"])
    assert [e["code"] for e in refused.data["transitionEvent"]["errors"]] == ["not_found"]

    for socket in (urban_socket, outsider_socket):
        await socket.ws.disconnect()


async def test_following_one_event_streams_only_that_event(users, event_categories):
    from strawberry import relay

    from gridapp.incidents.services import event_report, event_transition

    def report(lng):
        return event_report(reporter=users["worker"], category_code="02-05", lng=lng, lat=SPOT["lat"]).event

    followed = await database_sync_to_async(report)(SPOT["lng"])
    other = await database_sync_to_async(report)(SPOT["lng"] + 0.01)
    token = await database_sync_to_async(issue)(users["worker"])
    _ok, socket = await open_socket(token)
    # Computed fields that read the database (thumbnailUrl, grid, category's name) run on a thread here too.
    await socket.subscribe("one", "subscription($id: ID!) { eventChanged(eventId: $id) { kind event { "
                                  "status thumbnailUrl isOverdue grid { code } category { code name } } } }",
                           {"id": str(relay.GlobalID("Event", str(followed.pk)))})
    await asyncio.sleep(0.3)
    fire = database_sync_to_async(event_transition)
    await fire(actor=users["urban"], event_id=other.pk, action="accept")
    await fire(actor=users["urban"], event_id=followed.pk, action="accept")
    message = await socket.next(timeout=10)
    assert message["payload"]["data"]["eventChanged"] == {"kind": "event.accept", "event": {
        "status": "ACCEPTED", "thumbnailUrl": None, "isOverdue": False, "grid": {"code": followed.grid.code},
        "category": {"code": "02-05", "name": followed.category.display_name()}}}
    assert await socket.nothing(timeout=1.0)
    await socket.ws.disconnect()

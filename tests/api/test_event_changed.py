"""`eventChanged` says what each change did, even when the event has moved on by the time it is delivered."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from strawberry.relay import to_base64

from gridapp.incidents.services import event_report, event_transition
from tests.api.test_websocket import issue, open_socket
from tests.gridapp.test_event_intake import SPOT

pytestmark = pytest.mark.django_db(transaction=True)

CHANGED = """subscription($after: String) { eventChanged(after: $after) {
  cursor kind status version event { status version duplicateOf { caseNumber } } } }"""


async def test_each_message_carries_the_status_and_version_its_change_produced(users, district, event_categories):
    def act():
        case = event_report(reporter=users["worker"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event
        event_transition(actor=users["urban"], event_id=case.pk, action="accept")
        event_transition(actor=users["urban"], event_id=case.pk, action="dispatch", assignee=users["worker"])
        return case

    await database_sync_to_async(act)()  # all three committed before the subscriber replays them
    _ok, socket = await open_socket(await database_sync_to_async(issue)(users["urban"]))
    await socket.subscribe("e", CHANGED, {"after": "0"})
    messages = [(await socket.next(timeout=10))["payload"]["data"]["eventChanged"] for _ in range(3)]
    assert [(m["kind"], m["status"], m["version"]) for m in messages] == [
        ("event.reported", "REPORTED", 1), ("event.accept", "ACCEPTED", 2), ("event.dispatch", "DISPATCHED", 3)]
    assert all(m["event"]["status"] == "DISPATCHED" and m["event"]["version"] == 3 for m in messages)
    await socket.ws.disconnect()


async def test_a_live_message_shows_no_case_its_subscriber_may_not_see(users, district, event_categories):
    """The subscription read its events with the duplicate's case joined in, past the case's own rule."""
    def citizens_case():
        return event_report(reporter=users["citizen"], category_code="02-05", lng=SPOT[0], lat=SPOT[1]).event

    case = await database_sync_to_async(citizens_case)()
    _ok, socket = await open_socket(await database_sync_to_async(issue)(users["business"]))
    await socket.subscribe("e", CHANGED, {})
    await asyncio.sleep(0.5)  # the subscription starts from now: let it start
    await database_sync_to_async(event_report)(reporter=users["business"], category_code="02-05", lng=SPOT[0],
                                               lat=SPOT[1])
    message = (await socket.next(timeout=10))["payload"]["data"]["eventChanged"]
    assert message["kind"] == "event.reported" and message["event"]["status"] == "DUPLICATE"
    assert message["event"]["duplicateOf"] is None
    assert to_base64("Event", case.pk) not in str(message)
    await socket.ws.disconnect()


def test_an_unknown_category_names_the_input_field_the_client_sent(gql, users, token_for, district,
                                                                   event_categories):
    query = """mutation { reportEvent(input: {categoryCode: "99-99", lat: 36.01, lng: 120.31}) {
      errors { code field } } }"""
    answer = gql(query, token=token_for(users["citizen"]))
    assert answer.data["reportEvent"]["errors"] == [{"code": "unknown_category", "field": "categoryCode"}]

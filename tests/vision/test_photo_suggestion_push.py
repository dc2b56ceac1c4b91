"""Photo suggestions slower than the app waits: the mutation answers with a ticket at once, the detectors go on
in the background, and the subscription ``photoSuggestions`` delivers the answer to the user who sent the
photo (only to them), whether it subscribes before or after the detectors are done."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from tests.api.test_websocket import issue, open_socket
from tests.vision.conftest import BUS
from vision import suggestions
from vision.models import PhotoSuggestion

pytestmark = pytest.mark.django_db(transaction=True)

SUGGEST = """mutation($photo: Upload!) { suggestEventCategories(photo: $photo) {
  errors { code } ticket suggestions { category { code } } } }"""
SUBSCRIBE = """subscription($ticket: ID!) { photoSuggestions(ticket: $ticket) {
  errors { code message } ticket suggestions { category { code } objects confidence } description } }"""


@pytest.fixture(autouse=True)
def idle_detection_thread():
    """Each test starts with the detection thread idle (a job of the test before may still be loading models)."""
    yield
    deadline = time.monotonic() + 60
    while suggestions._queued and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def slow_detectors(monkeypatch):
    """Detectors that take a second longer than they do (the tests stop waiting after a fraction of it)."""
    detect = suggestions._detect

    def slow(image, models):
        time.sleep(1.0)
        return detect(image, models)

    monkeypatch.setattr(suggestions, "_detect", slow)


def _ticket(gql, token) -> str:
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()}, token=token)
    payload = answer.data["suggestEventCategories"]
    assert payload["errors"] == [] and payload["suggestions"] == []
    assert payload["ticket"]
    return payload["ticket"]


async def _delivered(client, ticket: str) -> dict:
    await client.subscribe("s", SUBSCRIBE, {"ticket": ticket})
    message = await client.next(timeout=30)
    assert message["type"] == "next", message
    done = await client.next(timeout=5)
    assert done == {"id": "s", "type": "complete"}  # one answer, then the subscription ends
    return message["payload"]["data"]["photoSuggestions"]


async def test_a_slow_answer_comes_by_subscription_to_the_sender_only(
        gql, users, detectors, event_categories, settings, slow_detectors):  # noqa: ARG001
    settings.VISION_SUGGEST_WAIT_SECONDS = 0.2
    token = await database_sync_to_async(issue)(users["worker"])
    ticket = await database_sync_to_async(_ticket)(gql, token)

    _connected, stranger = await open_socket(await database_sync_to_async(issue)(users["worker2"]))
    await stranger.subscribe("s", SUBSCRIBE, {"ticket": ticket})
    refused = await stranger.next()
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "not_found"

    _connected, client = await open_socket(token, language=b"en")
    payload = await _delivered(client, ticket)  # subscribed while the detectors still run
    assert payload["errors"] == [] and payload["ticket"] is None
    crowd = next(s for s in payload["suggestions"] if s["category"]["code"] == "05-08")
    assert crowd["objects"] == 4 and crowd["confidence"] > 0.4
    assert "Person × 4" in payload["description"]  # in the subscriber's language

    # Subscribing again once it is done answers at once.
    _connected, again = await open_socket(token)
    assert (await _delivered(again, ticket))["suggestions"] == payload["suggestions"]
    for socket in (stranger, client, again):
        await socket.ws.disconnect()


async def test_a_failed_detection_is_a_typed_error_on_the_subscription(
        gql, users, detectors, event_categories, settings, monkeypatch):
    settings.VISION_SUGGEST_WAIT_SECONDS = 0.05

    def broken(image, models):
        time.sleep(0.3)
        raise RuntimeError("the model file is corrupt")

    monkeypatch.setattr(suggestions, "_detect", broken)
    token = await database_sync_to_async(issue)(users["worker"])
    ticket = await database_sync_to_async(_ticket)(gql, token)
    _connected, client = await open_socket(token)
    payload = await _delivered(client, ticket)
    assert [e["code"] for e in payload["errors"]] == ["detectors_failed"]
    assert await database_sync_to_async(lambda: PhotoSuggestion.objects.get().failed)()
    await client.ws.disconnect()


def test_a_bad_photo_is_refused_at_once_and_old_tickets_are_dropped(gql, users, token_for, detectors, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.VISION_SUGGEST_WAIT_SECONDS = 0
    PhotoSuggestion.objects.create(user=users["worker"], created_at=timezone.now() - timedelta(hours=2))
    token = token_for(users["worker"])
    answer = gql.upload(SUGGEST, {"photo": None}, {"photo": b"not a picture"}, token=token)
    assert [e["code"] for e in answer.data["suggestEventCategories"]["errors"]] == ["not_an_image"]
    assert answer.data["suggestEventCategories"]["ticket"] is None
    _ticket(gql, token)
    assert PhotoSuggestion.objects.count() == 1  # the new one; the two-hour-old one is gone


async def test_an_unknown_or_malformed_ticket_is_not_found(users):
    _connected, client = await open_socket(await database_sync_to_async(issue)(users["worker"]))
    for ticket in ("UGhvdG9TdWdnZXN0aW9uOjk5OTk=", "RXZlbnQ6MQ=="):  # PhotoSuggestion:9999, Event:1
        await client.subscribe(ticket, SUBSCRIBE, {"ticket": ticket})
        message = await client.next()
        assert message["payload"]["errors"][0]["extensions"]["code"] == "not_found", message
        assert await client.next() == {"id": ticket, "type": "complete"}
    await client.ws.disconnect()


def test_photos_beyond_the_queue_are_refused_as_busy_not_piled_up(gql, users, token_for, detectors, settings,
                                                                   slow_detectors):  # noqa: ARG001
    settings.VISION_SUGGEST_WAIT_SECONDS, settings.VISION_SUGGEST_QUEUE = 0, 2
    token = token_for(users["worker"])
    codes = []
    for _photo in range(3):  # each detection takes a second: the third finds two waiting
        answer = gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()}, token=token)
        codes.append([e["code"] for e in answer.data["suggestEventCategories"]["errors"]])
    assert codes == [[], [], ["busy"]]
    deadline = time.monotonic() + 30  # the queue drains (two seconds of detection; longer on a loaded machine)
    while suggestions._queued and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gql.upload(SUGGEST, {"photo": None}, {"photo": BUS.read_bytes()},
                      token=token).data["suggestEventCategories"]["errors"] == []


def test_detectors_failing_while_the_app_waits_give_a_typed_error_in_its_language(
        gql, users, token_for, detectors, monkeypatch):
    def broken(image, models):
        raise RuntimeError("the model file is corrupt")

    monkeypatch.setattr(suggestions, "_detect", broken)
    answer = gql.upload(SUGGEST.replace("errors { code }", "errors { code message }"), {"photo": None},
                        {"photo": BUS.read_bytes()}, token=token_for(users["worker"]), language="en")
    payload = answer.data["suggestEventCategories"]
    assert payload["errors"] == [{"code": "detectors_failed", "message": "The detectors failed on this photo."}]
    assert payload["ticket"] is None and PhotoSuggestion.objects.count() == 0

"""The change feed: written with the change, visible by role and object, paged by cursor, in commit order."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.audiences import scope
from core.feed import change_record
from core.models import AppendOnlyError, Change
from core.selectors import change_visible_to
from core.services import notification_send
from gridapp.geography.models import GridNotice

CHANGES = "query($after: String, $first: Int!) { changes(after: $after, first: $first) { changes { cursor kind at } endCursor hasMore } }"


def notice_change(grid, author, department_id=None):
    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title="通知")
        to = [scope("grid", grid.pk)] + ([scope("department", department_id)] if department_id is not None else [])
        return change_record(kind="grid_notice.posted", obj=notice, to=to)


@pytest.fixture
def feed(users, district, urban_department):
    """One change for each audience kind."""
    operator = users["operator"]
    return {
        "grid": notice_change(district.grid, operator),
        "grid2": notice_change(district.grid2, operator),
        "dept": notice_change(district.other_community_grid, operator, department_id=urban_department.pk),
        "worker": Change.objects.get(pk=_notification_change(users["worker"])),
        "citizen": Change.objects.get(pk=_notification_change(users["citizen"])),
    }


def _notification_change(user) -> int:
    notification = notification_send(recipient=user, title="hello")
    return Change.objects.get(object_type="core.notification", object_id=notification.pk).pk


# A change addressed to one person is theirs alone: the command centre sees the district, not people's inboxes.
VISIBLE = {
    "operator": {"grid", "grid2", "dept"},
    "admin": {"grid", "grid2", "dept"},
    "auditor": {"grid", "grid2", "dept"},
    "worker": {"grid", "worker"},
    "worker2": {"grid2"},
    "urban": {"dept"},
    "citizen": {"citizen"},
    "business": set(),
    "employee": set(),
    "parkop": set(),
}


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_each_role_sees_exactly_its_changes(feed, users, username, gql, token_for):
    assignment_changes = set(Change.objects.filter(kind="grid.assigned").values_list("id", flat=True))
    expected = {feed[name].id for name in VISIBLE[username]}
    seen = set(change_visible_to(users[username]).values_list("id", flat=True)) - assignment_changes
    assert seen == expected
    over_http = gql(CHANGES, {"after": None, "first": 100}, token=token_for(users[username])).data["changes"]
    assert {int(item["cursor"]) for item in over_http["changes"]} - assignment_changes == expected


def test_paging_by_cursor_returns_every_change_once_in_order(feed, users, gql, token_for):
    token = token_for(users["operator"])
    seen, after = [], None
    while True:
        page = gql(CHANGES, {"after": after, "first": 2}, token=token).data["changes"]
        seen += [int(item["cursor"]) for item in page["changes"]]
        after = page["endCursor"]
        if not page["hasMore"]:
            break
    assert seen == sorted(set(seen)) == list(change_visible_to(users["operator"]).order_by("id")
                                             .values_list("id", flat=True))
    assert len(seen) >= 3
    empty = gql(CHANGES, {"after": after, "first": 2}, token=token).data["changes"]
    assert empty == {"changes": [], "endCursor": after, "hasMore": False}


def test_times_are_shown_in_shanghai(feed, users, gql, token_for):
    page = gql(CHANGES, {"after": None, "first": 1}, token=token_for(users["operator"])).data["changes"]
    assert page["changes"][0]["at"].endswith("+08:00")


@pytest.mark.parametrize("cursor", ["abc", "-1", "1" * 25, "1.5"])
def test_a_forged_cursor_is_a_typed_error(users, gql, token_for, cursor):
    response = gql(CHANGES, {"after": cursor, "first": 5}, token=token_for(users["worker"]))
    assert response.data is None and response.error_codes == ["invalid_cursor"]


def test_page_size_is_capped(feed, users, gql, token_for, settings):
    settings.GRAPHQL = {**settings.GRAPHQL, "MAX_PAGE_SIZE": 2}
    page = gql(CHANGES, {"after": None, "first": 1000}, token=token_for(users["operator"])).data["changes"]
    assert len(page["changes"]) == 2 and page["hasMore"]


def test_latest_cursor_is_the_newest_visible_change(feed, users, gql, token_for):
    latest = gql("{ latestCursor }", token=token_for(users["worker2"])).data["latestCursor"]
    assert int(latest) == feed["grid2"].id


def test_changes_query_count_is_constant_in_the_page_size(users, district, gql, token_for):
    token = token_for(users["operator"])
    for _ in range(3):
        notice_change(district.grid, users["operator"])
    with CaptureQueriesContext(connection) as few:
        gql(CHANGES, {"after": None, "first": 100}, token=token)
    for _ in range(40):
        notice_change(district.grid, users["operator"])
    with CaptureQueriesContext(connection) as many:
        assert len(gql(CHANGES, {"after": None, "first": 100}, token=token).data["changes"]["changes"]) > 40
    assert len(many) == len(few)


def test_a_rolled_back_change_is_neither_stored_nor_published(users, district, django_capture_on_commit_callbacks):
    before = Change.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                notice = GridNotice.objects.create(grid=district.grid, author=users["operator"], title="x")
                change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", district.grid.pk)])
                raise RuntimeError("the service failed after writing")
    assert Change.objects.count() == before and callbacks == []


@pytest.mark.django_db(transaction=True)
def test_change_record_refuses_to_run_outside_a_transaction(users, district):
    notice = GridNotice.objects.create(grid=district.grid, author=users["operator"], title="x")
    with pytest.raises(transaction.TransactionManagementError):
        change_record(kind="grid_notice.posted", obj=notice)


def test_the_change_log_is_append_only(feed):
    change = feed["grid"]
    change.kind = "edited"
    with pytest.raises(AppendOnlyError):
        change.save()
    with pytest.raises(AppendOnlyError):
        change.delete()


@pytest.mark.django_db(transaction=True)
def test_cursors_become_visible_in_commit_order_under_concurrent_writers(users, district):
    """A reader that has seen cursor N never later finds a new change below N (no gap to resume over)."""
    operator = users["operator"]
    writers, per_writer = 4, 12
    late_arrivals: list[tuple[int, int]] = []
    done = threading.Event()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(per_writer):
                with transaction.atomic():
                    notice = GridNotice.objects.create(grid=district.grid, author=operator, title="并发")
                    change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", district.grid.pk)])
                    time.sleep(rng.uniform(0, 0.01))  # commit late, after others may have inserted
        finally:
            connection.close()

    def read() -> None:
        highest = Change.objects.order_by("-id").values_list("id", flat=True).first() or 0
        try:
            while not done.is_set():
                fresh = list(Change.objects.filter(id__gt=highest - 50).values_list("id", flat=True))
                for change_id in fresh:
                    if change_id < highest and change_id not in seen:
                        late_arrivals.append((change_id, highest))
                seen.update(fresh)
                highest = max([highest, *fresh])
                time.sleep(0.002)
        finally:
            connection.close()

    seen: set[int] = set(Change.objects.values_list("id", flat=True))
    reader = threading.Thread(target=read)
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert late_arrivals == []
    assert Change.objects.filter(kind="grid_notice.posted").count() == writers * per_writer


# -- the announcement after commit (core.feed.change_publish, read by api.watcher) --------------------------------

def test_an_announcement_carries_the_row_as_the_log_holds_it(users, district, settings, monkeypatch):
    """What a watcher takes from the announcement is what it would have read from the log."""
    import core.feed
    from core.feed import change_publish, change_signal_row

    published = []

    class Publisher:
        def publish(self, channel, message):
            published.append((channel, message))

    settings.REDIS_URL, settings.CHANNEL_PREFIX = "redis://127.0.0.1:6379/7", "onegrid-test"
    monkeypatch.setattr(core.feed, "_publisher", Publisher())
    monkeypatch.setattr(core.feed, "_paused_until", 0.0)
    with transaction.atomic():
        notice = GridNotice.objects.create(grid=district.grid, author=users["operator"], title="通知")
        change = change_record(kind="grid_notice.posted", obj=notice, to=[scope("grid", district.grid.pk)],
                               facts={"status": "新", "version": 2})
    change_publish(change=change)

    (channel, message), = published
    assert channel.startswith("onegrid-test:changes:7:")
    row = change_signal_row(message)
    stored = Change.objects.get(pk=change.pk)
    assert row == {"id": stored.id, "at": stored.at, "kind": stored.kind, "object_type": stored.object_type,
                   "object_id": stored.object_id, "scopes": frozenset(stored.scopes), "facts": stored.facts}


def test_an_announcement_is_scoped_to_the_deployment_and_its_redis_database(settings, monkeypatch):
    from core.feed import changes_channel

    settings.CHANNEL_PREFIX = "onegrid"
    settings.REDIS_URL = "redis://127.0.0.1:6379/14"
    first = changes_channel()
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    assert changes_channel() != first  # pub/sub channels are shared by every database of a Redis server
    settings.REDIS_URL = "redis://127.0.0.1:6379/14"
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", "other")
    assert changes_channel() != first  # another log (a test run beside a development server)
    settings.REDIS_URL = ""
    assert changes_channel() is None  # embedded mode: the watchers poll


def _announcement(id_: str, facts: str) -> bytes:
    return json.dumps({"at": "2026-12-01T10:00:00+00:00", "kind": "k", "object_type": "a.b", "object_id": 1,
                       "scopes": ["grid:1"]})[:-1].encode() + f', "id": {id_}, "facts": {facts}}}'.encode()


@pytest.mark.parametrize("message", [
    b"not json", b'{"id": 5}', b'{"id": 5, "at": "yesterday"}', b"[1, 2]",
    _announcement("7.0", "{}"),  # a float would become the cursor "7.0"
    _announcement("true", "{}"),
    _announcement("7", "[]"),
])
def test_an_announcement_without_a_readable_row_is_only_a_wake_up(message):
    from core.feed import change_signal_row

    assert change_signal_row(message) is None


def test_a_commit_with_redis_down_is_not_held_up_and_is_announced_by_the_poll(users, district, settings, monkeypatch,
                                                                            caplog):
    """Redis refuses: the commit returns at once, says so once, and the next commits skip Redis for a while."""
    import core.feed
    from core.feed import change_publish

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(core.feed, "_publisher", None)
    monkeypatch.setattr(core.feed, "_paused_until", 0.0)
    changes = [notice_change(district.grid, users["operator"]) for _ in range(3)]
    started = time.monotonic()
    for change in changes:
        change_publish(change=change)
    assert time.monotonic() - started < 1.0
    assert [r.message for r in caplog.records if "could not announce" in r.message] == [
        f"could not announce change {changes[0].id}; watchers poll the log until Redis answers"]


def test_a_well_formed_announcement_is_read():
    from core.feed import change_signal_row

    assert change_signal_row(_announcement("7", '{"status": "new"}'))["id"] == 7

"""Audiences registered by apps: changes addressed to scope keys, delivered by the feed and its subscriptions."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from core import audiences
from core.audiences import audience_register, change_scopes, scope, user_scopes
from core.feed import change_record
from core.models import Change, ChangeScope
from core.selectors import change_latest_id, change_page, change_visible_to
from gridapp.geography.models import GridNotice
from tests.api.test_websocket import SUBSCRIBE_CHANGES, issue, open_socket

#: An audience no app has today: a park's operator staff (the parks issue will register the real one).
PARK_STAFF = {}


@pytest.fixture
def park_audience():
    audience_register("testpark", members_of=lambda user: PARK_STAFF.get(user.pk, ()))
    yield
    PARK_STAFF.clear()
    audiences._AUDIENCES.pop("testpark", None)


def _notice(grid, author, *, to=()) -> Change:
    with transaction.atomic():
        notice = GridNotice.objects.create(grid=grid, author=author, title="t", body="b")
        return change_record(kind="grid_notice.posted", obj=notice, to=to)


def test_scopes_of_the_registered_audiences(users, district, urban_department):
    assert user_scopes(users["worker"]) == {f"user:{users['worker'].pk}", f"grid:{district.grid.pk}"}
    assert user_scopes(users["operator"]) == {f"user:{users['operator'].pk}", "district"}
    assert f"department:{urban_department.pk}" in user_scopes(users["urban"])
    assert user_scopes(users["citizen"]) == {f"user:{users['citizen'].pk}"}


def test_a_change_is_stored_under_its_scopes_and_the_districts_when_overseen(users, district):
    change = _notice(district.grid, users["operator"], to=[scope("grid", district.grid.pk), scope("user", users["worker"].pk)])
    assert change.scopes == sorted([f"grid:{district.grid.pk}", f"user:{users['worker'].pk}"]) + ["district"]
    assert sorted(ChangeScope.objects.filter(change=change).values_list("key", flat=True)) == sorted(change.scopes)
    personal = _notice(district.grid, users["operator"], to=[scope("user", users["worker"].pk)])
    assert personal.scopes == [f"user:{users['worker'].pk}"]  # a person's own: not the command centre's
    assert _notice(district.grid, users["operator"]).scopes == ["district"]


def test_an_unregistered_scope_is_refused(users, district):
    with pytest.raises(LookupError):
        scope("nowhere", 1)
    with pytest.raises(LookupError):
        change_scopes(["nowhere:1"])
    with pytest.raises(LookupError), transaction.atomic():
        _notice(district.grid, users["operator"], to=["grid"])


def test_a_scope_no_app_has_today_reaches_exactly_its_members(users, district, park_audience):
    PARK_STAFF[users["citizen"].pk] = (7,)
    change = _notice(district.grid, users["operator"], to=[scope("testpark", 7)])
    other_park = _notice(district.grid, users["operator"], to=[scope("testpark", 8)])
    assert list(change_visible_to(users["citizen"])) == [change]
    assert not change_visible_to(users["worker"]).filter(pk__in=[change.pk, other_park.pk]).exists()
    assert {change, other_park} <= set(change_visible_to(users["operator"]))  # overseen by default
    assert change_latest_id(users["citizen"]) == change.id
    PARK_STAFF.clear()  # left the park's staff: at once, not at the next login
    assert change_visible_to(users["citizen"]).count() == 0
    assert change_latest_id(users["citizen"]) == 0


def test_a_demoted_department_member_loses_the_departments_changes_at_once(users, district, urban_department):
    staff = users["urban"]
    change = _notice(district.grid, users["operator"], to=[scope("department", urban_department.pk)])
    assert change in change_visible_to(staff)
    staff.role = Role.CITIZEN
    staff.save()  # the department column stays; the role decides
    assert change not in change_visible_to(staff)


def test_reading_the_feed_costs_the_same_queries_whatever_the_scopes(users, district, urban_department,
                                                                     park_audience):
    for index in range(5):
        _notice(district.grid, users["operator"], to=[scope("grid", district.grid.pk), scope("department", urban_department.pk),
                                                      scope("user", users["worker"].pk), scope("testpark", index)])

    def queries(user) -> int:
        with CaptureQueriesContext(connection) as captured:
            page = change_page(user=user, after=0, first=50)
        assert page
        return len(captured)

    few = queries(users["worker"])
    PARK_STAFF[users["worker"].pk] = tuple(range(40))  # forty more scopes
    assert queries(users["worker"]) == few


@pytest.mark.django_db(transaction=True)
async def test_a_live_subscription_receives_a_new_audiences_change_from_memory(users, district, park_audience):
    PARK_STAFF[users["citizen"].pk] = (7,)
    token = await database_sync_to_async(issue)(users["citizen"])
    _connected, client = await open_socket(token)
    await client.subscribe("feed", SUBSCRIBE_CHANGES)
    await asyncio.sleep(0.3)
    change = await database_sync_to_async(_notice)(district.grid, users["operator"], to=[scope("testpark", 7)])
    await database_sync_to_async(_notice)(district.grid, users["operator"], to=[scope("testpark", 8)])
    message = await client.next()
    assert message["payload"]["data"]["changes"]["cursor"] == str(change.id)
    assert await client.nothing()
    await client.ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_role_changed_in_the_admin_reaches_the_open_subscription(users, district, urban_department):
    staff = users["urban"]
    token = await database_sync_to_async(issue)(staff)
    _connected, client = await open_socket(token)
    await client.subscribe("feed", SUBSCRIBE_CHANGES)
    await asyncio.sleep(0.3)
    await database_sync_to_async(_notice)(district.grid, users["operator"], to=[scope("department", urban_department.pk)])
    assert (await client.next())["payload"]["data"]["changes"]["kind"] == "grid_notice.posted"

    def demote():
        staff.role = Role.CITIZEN
        staff.save()

    await database_sync_to_async(demote)()  # the admin's save: a change to the user's control scope
    await database_sync_to_async(_notice)(district.grid, users["operator"], to=[scope("department", urban_department.pk)])
    assert await client.nothing(1.0)  # neither the control change (no feed shows it) nor the department's
    assert await database_sync_to_async(
        lambda: Change.objects.filter(kind="user.access_changed", scopes=[f"access:{staff.pk}"]).count())() == 1
    await client.ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_supervisor_taken_off_a_community_stops_receiving_its_grids_at_once(users, district, supervisors):
    supervisor, community = supervisors["community"], district.community
    token = await database_sync_to_async(issue)(supervisor)
    _connected, client = await open_socket(token)
    await client.subscribe("feed", SUBSCRIBE_CHANGES)
    await asyncio.sleep(0.3)
    await database_sync_to_async(_notice)(district.grid, users["operator"], to=[scope("grid", district.grid.pk)])
    assert (await client.next())["payload"]["data"]["changes"]["kind"] == "grid_notice.posted"

    await database_sync_to_async(community.supervisors.remove)(supervisor)  # as the admin's form does
    await database_sync_to_async(_notice)(district.grid, users["operator"], to=[scope("grid", district.grid.pk)])
    assert await client.nothing(1.0)
    await client.ws.disconnect()

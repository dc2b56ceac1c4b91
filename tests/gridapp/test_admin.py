"""The admin pages for boundaries, records and assignments open for an administrator, and only for staff."""

import pytest

from gridapp.geography.models import BaseRecord


@pytest.mark.parametrize("model", ["generation", "street", "community", "grid", "industrygrid", "baserecord", "gridnotice",
                                   "household", "readingrefusal"])
def test_admin_changelists_open(client, users, district, model):
    BaseRecord.objects.create(external_id="A-1", kind="building", name="楼", lng=120.31, lat=36.01, grid=district.grid)
    client.force_login(users["admin"])
    assert client.get(f"/admin/gridapp/{model}/").status_code == 200
    assert client.get(f"/admin/gridapp/{model}/?q=A").status_code == 200


def test_grid_worker_assignments_page_opens(client, users, district):
    client.force_login(users["admin"])
    response = client.get(f"/admin/gridapp/grid/{district.grid.pk}/permissions/")
    assert response.status_code == 200 and b"worker" in response.content


def test_non_staff_cannot_open_the_admin(client, users):
    client.force_login(users["worker"])
    assert client.get("/admin/gridapp/grid/").status_code == 302


def test_events_are_read_not_edited_in_the_admin(client, users, district, event_categories):
    from gridapp.incidents.services import event_report

    event = event_report(reporter=users["worker"], category_code="02-05", lng=120.31, lat=36.01).event
    client.force_login(users["admin"])
    assert client.get("/admin/gridapp/event/?q=" + event.case_number).status_code == 200
    page = client.get(f"/admin/gridapp/event/{event.pk}/change/")
    assert page.status_code == 200 and event.case_number.encode() in page.content and b"report" in page.content
    assert client.post(f"/admin/gridapp/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_changing_a_communitys_supervisors_is_audited(users, district):
    from core.models import AuditEntry

    district.community.supervisors.add(users["operator"])
    entry = AuditEntry.objects.filter(action="permission.add").latest("id")
    assert entry.target.startswith("community:") and entry.details["items"] == [str(users["operator"])]


def test_a_notice_added_in_the_admin_is_posted_as_the_api_posts_it(client, users, district):
    """Through ``grid_notice_post``: the change-feed row to the grid and the delivery task in the outbox, with
    the notice; the delivery puts it in the grid worker's inbox."""
    from core.models import Change, Notification, OutboxTask
    from gridapp.geography.models import GridNotice
    from gridapp.geography.services import grid_notice_deliver

    client.force_login(users["admin"])
    response = client.post("/admin/gridapp/gridnotice/add/",
                           {"grid": district.grid.pk, "title": "  暴雨预警 ", "body": "请巡查低洼路段"})
    assert response.status_code == 302, response.content.decode()[:2000]
    notice = GridNotice.objects.get()
    assert (notice.grid, notice.author, notice.title, notice.body) == (
        district.grid, users["admin"], "暴雨预警", "请巡查低洼路段")
    change = Change.objects.get(kind="grid_notice.posted")
    assert (change.object_type, change.object_id) == ("gridapp.gridnotice", notice.pk)
    assert f"grid:{district.grid.pk}" in change.scopes
    task = OutboxTask.objects.get(task="gridapp.tasks.grid_notice_deliver_task")
    assert task.args == [notice.pk]
    assert grid_notice_deliver(notice_id=notice.pk) == 1
    assert Notification.objects.get(recipient=users["worker"]).title == "暴雨预警"
    # read in the admin afterwards, not edited: its workers already have it
    page = client.get(f"/admin/gridapp/gridnotice/{notice.pk}/change/")
    assert page.status_code == 200 and "暴雨预警" in page.content.decode()
    client.post(f"/admin/gridapp/gridnotice/{notice.pk}/change/", {"grid": district.grid.pk, "title": "改了"})
    notice.refresh_from_db()
    assert notice.title == "暴雨预警"


def test_an_empty_notice_is_refused_by_the_admin_form_and_only_the_command_centre_may_add_one(client, users, district):
    from core.models import Change
    from gridapp.geography.models import GridNotice

    client.force_login(users["admin"])
    response = client.post("/admin/gridapp/gridnotice/add/", {"grid": district.grid.pk, "title": "   "})
    assert response.status_code == 200 and response.context["adminform"].form.errors["title"]
    users["auditor"].is_staff = True  # staff with every model permission, but a role that writes nothing
    users["auditor"].is_superuser = False
    users["auditor"].save()
    from django.contrib.auth.models import Permission

    users["auditor"].user_permissions.set(Permission.objects.filter(codename__endswith="gridnotice"))
    client.force_login(users["auditor"])
    assert client.post("/admin/gridapp/gridnotice/add/",
                       {"grid": district.grid.pk, "title": "审计员的通知"}).status_code == 403
    assert not GridNotice.objects.exists() and not Change.objects.filter(kind="grid_notice.posted").exists()


def test_a_household_added_in_the_admin_is_located_to_its_grid(client, users, district):
    from gridapp.sensors.models import Household

    client.force_login(users["admin"])
    form = {"code": "hh-admin", "address": "广西路 3 号", "lng": "120.301", "lat": "36.001", "resident_name": "孙淑珍",
            "contact_name": "孙强", "contact_phone": "13800000020", "emergency_name": "居委会",
            "emergency_phone": "0532-80000000", "no_use_hours": "12", "day_starts": "06:00", "day_ends": "22:00",
            "running_hours": "4", "silent_hours": "6",
            "meters-TOTAL_FORMS": "0", "meters-INITIAL_FORMS": "0", "consents-TOTAL_FORMS": "0",
            "consents-INITIAL_FORMS": "0"}
    outside = client.post("/admin/gridapp/household/add/", {**form, "lng": "100.0"})
    assert outside.status_code == 200 and not Household.objects.exists()  # the form again, with the error
    added = client.post("/admin/gridapp/household/add/", form)
    assert added.status_code == 302, added.content[:2000]
    assert Household.objects.get().grid == district.grid

"""The admin pages for boundaries, records and assignments open for an administrator, and only for staff."""

import pytest

from gridapp.geography.models import BaseRecord


@pytest.mark.parametrize("model", ["generation", "street", "community", "grid", "industrygrid", "baserecord", "gridnotice"])
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

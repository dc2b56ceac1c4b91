"""The admin pages for boundaries, records and assignments open for an administrator, and only for staff."""

import pytest

from gridapp.models import BaseRecord


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

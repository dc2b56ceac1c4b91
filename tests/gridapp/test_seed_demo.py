"""`manage.py seed_demo`: the demo district, departments and accounts; idempotent; `--if-empty`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Department, Role, User
from gridapp.geography.models import Community, Grid, GridUserObjectPermission, Street

DEMO_USERNAMES = ["admin", "auditor", "operator", "worker", "worker2", "urban", "citizen", "business", "employee",
                  "parkop"]
DEMO_ROLES = {
    "admin": Role.ADMIN, "auditor": Role.AUDITOR, "operator": Role.OPERATOR, "worker": Role.GRID_WORKER,
    "worker2": Role.GRID_WORKER, "urban": Role.DEPARTMENT_STAFF, "citizen": Role.CITIZEN, "business": Role.BUSINESS,
    "employee": Role.PARK_EMPLOYEE, "parkop": Role.PARK_OPERATOR,
}
LOGIN = """mutation($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { errors { code } accessToken user { username } }
}"""
MY_GRIDS = "{ me { username grids { code } } }"


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--no-progress", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    """The username / password pairs the command printed under 'Demo accounts'."""
    lines = output.split("Demo accounts", 1)[1].splitlines()[1:]
    pairs = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2:
            pairs[parts[0]] = parts[1]
    return pairs


def counts() -> dict[str, int]:
    return {
        "streets": Street.objects.count(), "communities": Community.objects.count(), "grids": Grid.objects.count(),
        "departments": Department.objects.count(), "users": User.objects.count(),
        "assignments": GridUserObjectPermission.objects.count(),
    }


@pytest.fixture
def seeded(db) -> str:
    return seed()


def login(gql, username: str, password: str) -> dict:
    return gql(LOGIN, {"u": username, "p": password}).data["login"]


def test_seed_creates_the_district_departments_and_demo_accounts(seeded):
    assert (Street.objects.count(), Community.objects.count(), Grid.objects.count()) == (10, 50, 600)
    assert "10 streets, 50 communities, 600 grids" in seeded
    assert {"urban", "parks"} <= set(Department.objects.values_list("code", flat=True))
    assert dict(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", "role")) == DEMO_ROLES
    assert User.objects.get(username="urban").department.code == "urban"
    assert User.objects.get(username="admin").is_superuser


def test_every_grid_is_stored_with_its_community_street_and_geometry(seeded):
    grid = Grid.objects.select_related("community__street").get(code="S01-C01-G01")
    assert grid.community.code == "S01-C01" and grid.community.street.code == "S01"
    assert grid.boundary["type"] == "Polygon"
    assert grid.min_lng < grid.centroid_lng < grid.max_lng and grid.min_lat < grid.centroid_lat < grid.max_lat
    assert 10_000 < grid.area_m2 < 2_000_000
    assert Community.objects.filter(street__code="S01").count() == 5
    assert Grid.objects.filter(community__code="S01-C01").count() == 12


def test_each_printed_password_logs_in(seeded, gql):
    passwords = printed_passwords(seeded)
    from approvals.demo import STEP_STAFF
    from parks.demo import PARK_ACCOUNTS

    assert set(passwords) == (set(DEMO_USERNAMES) | {username for username, *_rest in STEP_STAFF} | {"producer"}
                              | {username for username, *_rest in PARK_ACCOUNTS})
    for username, password in passwords.items():
        payload = login(gql, username, password)
        assert payload["errors"] == [], username
        assert payload["user"]["username"] == username
        assert payload["accessToken"]


def test_the_demo_parks_are_seeded_with_their_people(seeded):
    from parks.models import Employee, Park, ParkStaff

    assert set(Park.objects.values_list("code", flat=True)) == {"software-park", "animation-park"}
    software = Park.objects.get(code="software-park")
    assert {gate.kind for gate in software.gates.all()} == {"entrance", "building", "canteen", "parking"}
    chen = Employee.objects.select_related("enterprise__park", "building").get(user__username="employee")
    assert (chen.enterprise.park, chen.building.code, chen.status) == (software, "A", "active")
    assert ParkStaff.objects.filter(user__username="parkop", role="operator").count() == 2
    assert ParkStaff.objects.filter(user__username="gate_sp", role="gate", park=software).exists()
    assert Employee.objects.filter(enterprise__park__code="animation-park").count() == 30


def test_the_two_demo_workers_work_in_two_different_grids(seeded, gql):
    passwords = printed_passwords(seeded)
    grids = {}
    for username in ("worker", "worker2"):
        token = login(gql, username, passwords[username])["accessToken"]
        me = gql(MY_GRIDS, token=token).data["me"]
        assert me["username"] == username
        grids[username] = [grid["code"] for grid in me["grids"]]
    assert len(grids["worker"]) == 1 and len(grids["worker2"]) == 1
    assert grids["worker"] != grids["worker2"]
    assert set(grids["worker"] + grids["worker2"]) <= set(Grid.objects.values_list("code", flat=True))
    # the printed account list tells who works where
    assert f"grid {grids['worker'][0]}" in seeded and f"grid {grids['worker2'][0]}" in seeded


def test_seeding_again_changes_nothing(seeded, gql):
    before = counts()
    grid_pks = dict(Grid.objects.values_list("code", "pk"))
    user_pks = dict(User.objects.values_list("username", "pk"))
    again = seed()
    assert counts() == before
    assert dict(Grid.objects.values_list("code", "pk")) == grid_pks
    assert dict(User.objects.values_list("username", "pk")) == user_pks
    for username in ("worker", "worker2"):
        user = User.objects.get(username=username)
        assert GridUserObjectPermission.objects.filter(user=user).count() == 1
    # the passwords printed the second time still work
    assert login(gql, "worker", printed_passwords(again)["worker"])["errors"] == []


def test_seeding_again_repairs_edited_demo_data(seeded):
    worker = User.objects.get(username="worker")
    worker.role = Role.CITIZEN
    worker.save()
    Grid.objects.filter(code="S03-C02-G05").update(name="改名网格", min_lng=0)
    seed()
    assert User.objects.get(username="worker").role == Role.GRID_WORKER
    grid = Grid.objects.get(code="S03-C02-G05")
    assert grid.name != "改名网格" and grid.min_lng > 120


def test_if_empty_leaves_a_seeded_database_alone(seeded):
    Grid.objects.filter(code="S01-C01-G01").update(name="改名网格")
    original_name = "香港中路一社区第1网格"
    before = counts()
    output = seed("--if-empty")
    assert Grid.objects.get(code="S01-C01-G01").name == "改名网格"
    assert counts() == before
    assert "Demo accounts" in output  # still tells the user how to log in
    seed()
    assert Grid.objects.get(code="S01-C01-G01").name == original_name


def test_if_empty_seeds_an_empty_database(db):
    seed("--if-empty")
    assert (Street.objects.count(), Community.objects.count(), Grid.objects.count()) == (10, 50, 600)
    assert User.objects.filter(username__in=DEMO_USERNAMES).count() == len(DEMO_USERNAMES)


def test_refuses_to_run_in_production_without_force(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        seed()
    assert counts()["grids"] == 0
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()


def test_a_production_start_on_a_populated_database_goes_on_without_seeding(seeded, settings):
    """run_stack's `seed_demo --if-empty` used to refuse in production before it looked at the database."""
    settings.PRODUCTION = True
    before = counts()
    output = seed("--if-empty")
    assert "nothing seeded" in output and counts() == before


def test_run_stack_seeds_no_demo_accounts_in_production(db, settings, capsys):
    from core.management.commands.run_stack import Command

    settings.PRODUCTION = True
    Command().seed()
    assert counts()["grids"] == 0
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()
    settings.PRODUCTION = False
    Command().seed()
    assert counts()["grids"] == 600


def test_the_demo_watched_households_have_two_weeks_of_water_and_one_resident_waiting_for_a_visit(seeded):
    from gridapp.incidents.models import EventStatus
    from gridapp.sensors.models import WatchCondition
    from gridapp.sensors.selectors import households_visible_to, readings_visible_to

    worker = User.objects.get(username="worker")
    assert households_visible_to(worker).filter(code__startswith="demo-").count() == 12
    assert readings_visible_to(worker).count() > 12 * 14 * 90  # 15-minute readings, a meter silent for a while
    found = {(c.household.code, c.kind, c.event.status) for c in WatchCondition.objects.select_related(
        "household", "event")}
    assert found == {("demo-04", "no_use", EventStatus.CLOSED), ("demo-08", "running", EventStatus.CLOSED),
                     ("demo-06", "silent", EventStatus.REPORTED), ("demo-11", "no_use", EventStatus.DISPATCHED)}
    assert "Watched households" in seed()  # a second run adds nothing
    assert WatchCondition.objects.count() == 4

"""Seed the demo district: idempotent, with a progress bar, printing the demo accounts."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from accounts.models import BusinessCapacity, Department, Role, User
from gridapp.demo import Cell, build_district
from gridapp.models import Community, Grid, Street
from gridapp.selectors import grids_of_worker
from gridapp.services import grid_assign_worker

DEPARTMENTS = [
    ("urban", "城市管理局", "Urban Management Bureau"),
    ("sanitation", "环境卫生服务中心", "Sanitation Service Centre"),
    ("market", "市场监督管理局", "Market Supervision Bureau"),
    ("approval", "行政审批服务局", "Administrative Approval Bureau"),
    ("civil", "民政局", "Civil Affairs Bureau"),
    ("emergency", "应急管理局", "Emergency Management Bureau"),
    ("housing", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("water", "水务局", "Water Affairs Bureau"),
    ("parks", "园区运营中心", "Business Park Operations Centre"),
]

# username, role, display name, phone, department code, extra fields
DEMO_ACCOUNTS = [
    ("admin", Role.ADMIN, "系统管理员", "13800000001", None, {"is_staff": True, "is_superuser": True}),
    ("auditor", Role.AUDITOR, "审计员", "13800000002", None, {}),
    ("operator", Role.OPERATOR, "指挥中心值班员", "13800000003", None, {"is_staff": True}),
    ("worker", Role.GRID_WORKER, "网格员 张伟", "13800000004", None, {}),
    ("worker2", Role.GRID_WORKER, "网格员 李娜", "13800000005", None, {}),
    ("urban", Role.DEPARTMENT_STAFF, "城管局 王强", "13800000006", "urban", {}),
    ("citizen", Role.CITIZEN, "市民 刘洋", "13800000007", None, {}),
    ("business", Role.BUSINESS, "青岛海韵培训学校 法定代表人", "13800000008", None,
     {"business_capacity": BusinessCapacity.LEGAL_REPRESENTATIVE}),
    ("employee", Role.PARK_EMPLOYEE, "软件园员工 陈静", "13800000009", None, {}),
    ("parkop", Role.PARK_OPERATOR, "软件园运营 赵磊", "13800000010", "parks", {}),
]
#: The grid each demo grid worker works in.
DEMO_ASSIGNMENTS = {"worker": "S01-C01-G01", "worker2": "S02-C01-G01"}


def demo_password(username: str) -> str:
    return f"{username}-OneGrid-2026"


class Command(BaseCommand):
    help = "Create or update the demo district (10 streets, 50 communities, 600 grids), departments and demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when grids already exist")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--force", action="store_true", help="allow seeding in production")

    def handle(self, *args, if_empty: bool, no_progress: bool, force: bool, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("seed_demo creates accounts with known passwords; pass --force to run it in production")
        if not (if_empty and Grid.objects.exists()):
            district = build_district()
            total = sum(1 + len(street.children) + sum(len(c.children) for c in street.children) for street in district)
            with tqdm(total=total, desc="demo district", unit="area", disable=no_progress) as bar:
                with transaction.atomic():
                    self._seed_geography(district, bar)
                    self._seed_people()
        self._print_accounts()

    def _seed_geography(self, district: list[Cell], bar) -> None:
        for street_cell in district:
            street = _upsert(Street, street_cell)
            bar.update(1)
            for community_cell in street_cell.children:
                community = _upsert(Community, community_cell, street=street)
                bar.update(1)
                grids = [_area_fields(Grid, cell, community_id=community.pk,
                                      centroid_lng=cell.polygon.centroid.x, centroid_lat=cell.polygon.centroid.y)
                         for cell in community_cell.children]
                Grid.objects.bulk_create(
                    grids, update_conflicts=True, unique_fields=["code"],
                    update_fields=["name", "boundary", "min_lng", "min_lat", "max_lng", "max_lat", "area_m2",
                                   "community", "centroid_lng", "centroid_lat"],
                )
                bar.update(len(grids))

    def _seed_people(self) -> None:
        departments = {}
        for code, name, name_en in DEPARTMENTS:
            departments[code], _ = Department.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en})
        for username, role, display_name, phone, department, extra in DEMO_ACCOUNTS:
            user = User.objects.filter(username=username).first() or User(username=username)
            user.role, user.display_name, user.phone = role, display_name, phone
            user.department = departments[department] if department else None
            for key, value in extra.items():
                setattr(user, key, value)
            user.set_password(demo_password(username))
            user.save()
        for username, grid_code in DEMO_ASSIGNMENTS.items():
            worker = User.objects.get(username=username)
            grid = Grid.objects.get(code=grid_code)
            if not grids_of_worker(worker).filter(pk=grid.pk).exists():
                grid_assign_worker(actor=None, grid=grid, worker=worker)

    def _print_accounts(self) -> None:
        self.stdout.write(self.style.SUCCESS(
            f"Demo district: {Street.objects.count()} streets, {Community.objects.count()} communities, "
            f"{Grid.objects.count()} grids."
        ))
        self.stdout.write("Demo accounts (username / password / role):")
        for username, role, _display_name, _phone, _department, _extra in DEMO_ACCOUNTS:
            where = f"  grid {DEMO_ASSIGNMENTS[username]}" if username in DEMO_ASSIGNMENTS else ""
            self.stdout.write(f"  {username:<9} {demo_password(username):<26} {role.label}{where}")


def _area_fields(model, cell: Cell, **extra):
    min_lng, min_lat, max_lng, max_lat = cell.bbox
    return model(code=cell.code, name=cell.name, boundary=cell.geojson, min_lng=min_lng, min_lat=min_lat,
                 max_lng=max_lng, max_lat=max_lat, area_m2=round(cell.area_m2, 1), **extra)


def _upsert(model, cell: Cell, **extra):
    fields = _area_fields(model, cell, **extra)
    defaults = {f.attname: getattr(fields, f.attname) for f in model._meta.concrete_fields
                if f.attname not in ("id", "code")}
    obj, _created = model.objects.update_or_create(code=cell.code, defaults=defaults)
    return obj

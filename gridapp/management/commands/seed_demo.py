"""Seed the demo district: idempotent, with progress bars, printing the demo accounts.

``--scale demo`` (default): 600 grids, industry grids of three departments and
3,200 base records.  ``--scale full``: the same district with 1.6 M base records
in realistic proportions (17,000 cameras), for benchmarks.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from accounts.models import BusinessCapacity, Department, Role, User
from gridapp.geography.demo import FULL_SCALE, Cell, build_district, industry_zones, record_columns
from gridapp.geography.models import BaseRecord, Community, Generation, Grid, IndustryGrid, Street
from gridapp.geography.selectors import generation_current, grids_of_worker
from gridapp.geography.services import grid_assign_worker, industry_coverage_refresh
from gridapp.incidents.demo import FULL_SCALE_EVENTS, demo_events_create
from gridapp.incidents.models import Event, EventCategory
from gridapp.incidents.services import event_categories_seed

SCALES = {"demo": 1 / 500, "full": 1.0}

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
        parser.add_argument("--scale", choices=sorted(SCALES), default="demo",
                            help="demo: 3,200 base records and 800 events; full: 1.6 M (17,000 cameras) and "
                                 "400,000 events for benchmarks")
        parser.add_argument("--events", type=int, default=None,
                            help="how many generated events (default: 400,000 at the scale); only into an empty table")

    def handle(self, *args, if_empty: bool, no_progress: bool, force: bool, scale: str, **options):
        populated = Grid.objects.exists()
        if settings.PRODUCTION and not force:
            if if_empty and populated:  # nothing would be seeded: a production start goes on
                self.stdout.write("The database already holds a district: nothing seeded.")
                return
            raise CommandError("seed_demo creates accounts with known passwords; pass --force to run it in production")
        if not (if_empty and populated):
            district = build_district()
            zones = industry_zones()
            total = sum(1 + len(street.children) + sum(len(c.children) for c in street.children) for street in district)
            total += sum(len(cells) for cells in zones.values())
            with tqdm(total=total, desc="demo district", unit="area", disable=no_progress) as bar:
                with transaction.atomic():
                    generation = generation_current() or Generation.objects.create(description="demo district")
                    self._seed_geography(district, generation, bar)
                    departments = self._seed_people()
                    self._seed_industry(zones, departments, generation, bar)
            self._seed_records(SCALES[scale], no_progress)
        self._seed_events(options["events"] if options.get("events") is not None
                          else int(FULL_SCALE_EVENTS * SCALES[scale]), no_progress)
        self._seed_cameras()
        self._seed_campaign()
        self._seed_households()
        self._seed_certificates()
        self._seed_parks()
        self._print_accounts()

    def _seed_households(self) -> None:
        from gridapp.sensors.demo import demo_households_create

        self.stdout.write(f"Watched households (water meters, two weeks of readings): {demo_households_create()} in "
                          f"worker's grid.")

    def _seed_campaign(self) -> None:
        from gridapp.campaigns.demo import demo_campaign_create

        campaign = demo_campaign_create()
        self.stdout.write(f"Campaign {campaign.code}: {campaign.cases.count()} cases in its ledger "
                          "(manage.py campaign_report prints it).")

    def _seed_certificates(self) -> None:
        from approvals.demo import demo_certificates_create

        self.stdout.write(f"Certificates held by citizen and business: {demo_certificates_create()} "
                          "(verify one at /verify/).")
        from approvals.demo import demo_applications_create

        self.approval_accounts = demo_applications_create(password=demo_password)
        self.stdout.write("Applications: the school's renewal drafted (business confirms and submits it), the tea "
                          "producer's geographical-indication mark at the provincial review.")

    def _seed_parks(self) -> None:
        from parks.demo import demo_parks_create

        self.park_accounts = demo_parks_create(password=demo_password)
        self.stdout.write("Parks: the software park and the animation park, their buildings, gates, enterprises and "
                          "employees (employee works in the software park's building A; parkop runs both).")

    def _seed_cameras(self) -> None:
        from vision.demo import demo_cameras_create

        self.stdout.write(f"Cameras sampled by the AI: {demo_cameras_create()} (replaying vtest.avi and photos).")

    def _seed_events(self, count: int, no_progress: bool) -> None:
        if count <= 0 or Event.objects.exists():
            return
        workers = {grid.pk: worker.pk for worker in User.objects.filter(username__in=DEMO_ASSIGNMENTS)
                   for grid in grids_of_worker(worker)}
        staff = dict(User.objects.filter(role=Role.DEPARTMENT_STAFF).order_by("-id").values_list("department_id", "id"))
        with tqdm(total=count, desc="events", unit="event", disable=no_progress) as bar:
            made = demo_events_create(count=count, workers=workers, staff=staff, progress=bar.update)
        self.stdout.write(f"Events: {made:,} generated over the past year.")

    def _seed_geography(self, district: list[Cell], generation, bar) -> None:
        for street_cell in district:
            street = _upsert(Street, street_cell, generation)
            bar.update(1)
            for community_cell in street_cell.children:
                community = _upsert(Community, community_cell, generation, street=street)
                bar.update(1)
                for cell in community_cell.children:
                    centroid = cell.polygon.centroid
                    _upsert(Grid, cell, generation, community=community, centroid_lng=centroid.x, centroid_lat=centroid.y)
                bar.update(len(community_cell.children))

    def _seed_industry(self, zones: dict[str, list[Cell]], departments: dict, generation, bar) -> None:
        for department_code, cells in zones.items():
            for cell in cells:
                _upsert(IndustryGrid, cell, generation, department=departments[department_code])
            bar.update(len(cells))
        industry_coverage_refresh()

    def _seed_records(self, scale: float, no_progress: bool) -> None:
        import numpy as np

        from gridapp.geography.importer import RecordBatch, records_load
        from gridapp.geography.locator import locator_reset

        locator_reset()
        total = sum(max(1, int(round(count * scale))) for count in FULL_SCALE.values())
        if BaseRecord.objects.count() >= total:
            return

        def batches():
            for columns in record_columns(scale=scale):
                size = len(columns["external_id"])
                yield RecordBatch(
                    external_ids=columns["external_id"], kinds=columns["kind"], names=columns["name"],
                    addresses=columns["address"], lngs=np.asarray(columns["lng"]), lats=np.asarray(columns["lat"]),
                    crs=["WGS84"] * size, lines=list(range(1, size + 1)), source="seed_demo",
                )

        with tqdm(total=total, desc="base records", unit="row", disable=no_progress) as bar:
            report = records_load(batches(), progress=bar.update)
        self.stdout.write(f"Base records: {report.created:,} created, {report.updated:,} updated, "
                          f"{report.unchanged:,} unchanged, {len(report.rejected):,} rejected "
                          f"({report.seconds_loading:.1f} s loading).")

    def _seed_people(self) -> dict:
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
        event_categories_seed()
        for username, grid_code in DEMO_ASSIGNMENTS.items():
            worker = User.objects.get(username=username)
            grid = Grid.objects.current().get(code=grid_code)
            if not grids_of_worker(worker).filter(pk=grid.pk).exists():
                grid_assign_worker(actor=None, grid=grid, worker=worker)
        return departments

    def _print_accounts(self) -> None:
        self.stdout.write(self.style.SUCCESS(
            f"Demo district: {Street.objects.current().count()} streets, {Community.objects.current().count()} "
            f"communities, {Grid.objects.current().count()} grids, {IndustryGrid.objects.current().count()} industry "
            f"grids, {BaseRecord.objects.count():,} base records, {EventCategory.objects.count()} event categories, "
            f"{Event.objects.count():,} events."
        ))
        self.stdout.write("Demo accounts (username / password / role):")
        for username, role, _display_name, _phone, _department, _extra in DEMO_ACCOUNTS:
            where = f"  grid {DEMO_ASSIGNMENTS[username]}" if username in DEMO_ASSIGNMENTS else ""
            self.stdout.write(f"  {username:<9} {demo_password(username):<26} {role.label}{where}")
        for username, display_name in [*getattr(self, "approval_accounts", []), *getattr(self, "park_accounts", [])]:
            self.stdout.write(f"  {username:<9} {demo_password(username):<26} {display_name}")


def _upsert(model, cell: Cell, generation, **extra):
    """Create the current version of ``cell.code`` or bring it in line with the demo (idempotent)."""
    from gridapp.geography.services import area_fields

    fields = {"name": cell.name, **area_fields(cell.polygon), **extra}
    lookup = {"code": cell.code, "generation_high__isnull": True}
    if model is IndustryGrid:
        lookup["department"] = extra["department"]
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(code=cell.code, generation_low=generation, **fields)
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    if changed:
        obj.save(update_fields=changed)
    return obj

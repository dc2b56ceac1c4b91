"""Shared fixtures: a small district, one user per role, tokens, an HTTP GraphQL client."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from accounts.services import token_issue
from gridapp.geography.services import grid_assign_worker
from tests.factories import CommunityFactory, DepartmentFactory, GridFactory, StreetFactory, UserFactory

PASSWORD = "correct-horse-battery"


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    return (f"onegrid: database={db['ENGINE'].rsplit('.', 1)[-1]} "
            f"redis={'yes' if settings.REDIS_URL else 'no (embedded)'} var={settings.VAR_DIR}")


@dataclass
class District:
    street: object
    community: object
    grid: object
    grid2: object
    other_community_grid: object


@pytest.fixture
def district(db) -> District:
    street = StreetFactory(lng=120.30, lat=36.00, size=0.2)
    community = CommunityFactory(street=street, lng=120.30, lat=36.00, size=0.1)
    community2 = CommunityFactory(street=street, lng=120.40, lat=36.00, size=0.1)
    return District(
        street=street,
        community=community,
        grid=GridFactory(community=community, lng=120.30, lat=36.00, size=0.05),
        grid2=GridFactory(community=community, lng=120.35, lat=36.00, size=0.05),
        other_community_grid=GridFactory(community=community2, lng=120.40, lat=36.00, size=0.05),
    )


@pytest.fixture
def urban_department(db):
    return DepartmentFactory(code="urban", name="城市管理局", name_en="Urban Management Bureau")


@pytest.fixture
def users(district, urban_department):
    """One user per role; ``worker`` works in ``district.grid``, ``worker2`` in ``district.grid2``."""
    made = {
        "admin": UserFactory(username="admin", role=Role.ADMIN, is_superuser=True, is_staff=True),
        "auditor": UserFactory(username="auditor", role=Role.AUDITOR),
        "operator": UserFactory(username="operator", role=Role.OPERATOR),
        "worker": UserFactory(username="worker", role=Role.GRID_WORKER, phone="13900000001"),
        "worker2": UserFactory(username="worker2", role=Role.GRID_WORKER, phone="13900000002"),
        "urban": UserFactory(username="urban", role=Role.DEPARTMENT_STAFF, department=urban_department),
        "citizen": UserFactory(username="citizen", role=Role.CITIZEN),
        "business": UserFactory(username="business", business=True),
        "employee": UserFactory(username="employee", role=Role.PARK_EMPLOYEE),
        "parkop": UserFactory(username="parkop", role=Role.PARK_OPERATOR),
    }
    grid_assign_worker(actor=None, grid=district.grid, worker=made["worker"])
    grid_assign_worker(actor=None, grid=district.grid2, worker=made["worker2"])
    return made


@pytest.fixture
def event_categories(urban_department):
    """The full merged taxonomy, with every department it names."""
    from gridapp.incidents.services import event_categories_seed
    from gridapp.incidents.taxonomy import CATEGORIES

    for code in sorted({entry.department for entry in CATEGORIES}):
        DepartmentFactory(code=code, name=f"{code}局", name_en=f"{code.title()} Bureau")
    event_categories_seed()


@pytest.fixture
def supervisors(district):
    """``community_chief`` supervises the community of ``worker``'s grid, ``street_chief`` its street."""
    community_chief = UserFactory(username="community_chief", role=Role.SUPERVISOR)
    street_chief = UserFactory(username="street_chief", role=Role.SUPERVISOR)
    district.community.supervisors.add(community_chief)
    district.street.supervisors.add(street_chief)
    return {"community": community_chief, "street": street_chief}


@pytest.fixture
def token_for(db):
    def issue(user, ttl_seconds: int | None = None) -> str:
        raw, _token = token_issue(user=user, ttl_seconds=ttl_seconds)
        return raw

    return issue


@dataclass
class GqlResponse:
    status: int
    body: dict

    @property
    def data(self):
        return self.body.get("data")

    @property
    def errors(self):
        return self.body.get("errors") or []

    @property
    def error_codes(self) -> list[str]:
        return [(error.get("extensions") or {}).get("code") for error in self.errors]


@pytest.fixture
def gql(db):
    """POST (or GET) a GraphQL document to /graphql/ through Django's full request stack."""
    client = Client()

    def run(query: str, variables: dict | None = None, *, token: str | None = None, method: str = "post",
            language: str | None = None, headers: dict | None = None) -> GqlResponse:
        extra = dict(headers or {})
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if language:
            extra["HTTP_ACCEPT_LANGUAGE"] = language
        if method == "get":
            params = {"query": query}
            if variables:
                params["variables"] = json.dumps(variables)
            response = client.get("/graphql/", params, HTTP_ACCEPT="application/json", **extra)
        else:
            response = client.post("/graphql/", json.dumps({"query": query, "variables": variables or {}}),
                                   content_type="application/json", **extra)
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {"raw": response.content.decode(errors="replace")}
        return GqlResponse(response.status_code, body)

    def upload(query: str, variables: dict, files: dict[str, bytes], *, token: str | None = None,
               language: str | None = None) -> GqlResponse:
        """A GraphQL multipart request: ``files`` maps a variable path (``input.photos.0``) to its bytes."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        if language:
            extra["HTTP_ACCEPT_LANGUAGE"] = language
        data = {"operations": json.dumps({"query": query, "variables": variables}),
                "map": json.dumps({str(i): [f"variables.{path}"] for i, path in enumerate(files)})}
        for i, content in enumerate(files.values()):
            data[str(i)] = SimpleUploadedFile(f"photo{i}.jpg", content, content_type="image/jpeg")
        response = client.post("/graphql/", data, **extra)
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {"raw": response.content.decode(errors="replace")}
        return GqlResponse(response.status_code, body)

    run.upload = upload
    return run


def subprocess_env() -> dict:
    """Environment for a server or worker process that must share the test database and broker."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{Path(db['NAME']).resolve()}"
    else:
        env["DATABASE_URL"] = (f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
    env["ONEGRID_VAR_DIR"] = str(settings.VAR_DIR)
    env["PYTHONPATH"] = str(settings.BASE_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    env["CHANGE_POLL_SECONDS"] = "0.1" if not settings.REDIS_URL else "2"
    return env


PYTHON = sys.executable


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Each test writes its photos (and reads them back) in a folder of its own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def certificate_keys(settings, tmp_path):
    """Each test signs certificates with keys of its own, in a folder of its own."""
    settings.CERTIFICATE_KEY_DIR = tmp_path / "keys"


@pytest.fixture(autouse=True)
def park_keys(settings, tmp_path):
    """Each test signs passes with park keys of its own; no process-wide verifier carries keys across tests."""
    from parks.services import verifiers

    settings.PARK_KEY_DIR = tmp_path / "park-keys"
    verifiers.clear()
    yield
    verifiers.clear()


@pytest.fixture(autouse=True)
def no_language_left_active():
    """A request through the test client leaves its language active in the thread; the next test must not
    inherit it (in production every request activates its own)."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_locator():
    """Each test builds its own locator: ids of rolled-back test data come back on SQLite."""
    from gridapp.geography.locator import locator_reset

    locator_reset()
    yield
    locator_reset()


@pytest.fixture(autouse=True)
def fresh_model_registry():
    """No test sees what an earlier one (rolled back) registered: each reads the detector registry anew."""
    from vision import backends, registry

    registry.registry_forget()
    backends._chosen.clear()
    yield
    registry.registry_forget()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test runs on an event loop of its own, and a channel layer keeps state bound to the loop that used it
    (channels-redis's receive lock, count and pools): a receive left pending on a finished test's loop made the
    next test's change watcher fail over to polling.  Each test gets a layer object of its own, as each server
    process has."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()

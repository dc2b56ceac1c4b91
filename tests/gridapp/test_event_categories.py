"""The merged event taxonomy: seeded, idempotent, translated, listed with a constant number of queries."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridapp.incidents.models import EventCategory
from gridapp.incidents.services import event_categories_seed
from gridapp.incidents.taxonomy import CATEGORIES
from tests.factories import DepartmentFactory

CATEGORIES_QUERY = """query($platform: Platform) {
  eventCategories(platform: $platform) { code majorCode name majorName platform severity photoRequired
    acceptHours handleHours departmentCode departmentName }
}"""


@pytest.fixture
def departments(db):
    for code in sorted({entry.department for entry in CATEGORIES}):
        DepartmentFactory(code=code, name=f"{code}局", name_en=f"{code.title()} Bureau")


def test_seeding_creates_a_realistic_merged_taxonomy(departments):
    assert event_categories_seed() == len(CATEGORIES) >= 60
    categories = list(EventCategory.objects.all())
    assert len({c.code for c in categories}) == len(categories)
    assert all(re.fullmatch(r"\d\d-\d\d", c.code) and c.code.startswith(c.major_code) for c in categories)
    assert {c.platform for c in categories} == {"city", "social"}
    assert EventCategory.objects.get(code="01-02").name == "暴露垃圾"
    assert EventCategory.objects.get(code="05-02").name_en == "Business outside the shop door"
    assert EventCategory.objects.get(code="05-04").department.code == "urban"
    urgent = EventCategory.objects.get(code="04-01")
    assert urgent.severity == "urgent" and urgent.handle_hours < EventCategory.objects.get(code="01-01").handle_hours


def test_seeding_again_changes_nothing_and_restores_edits(departments):
    event_categories_seed()
    assert event_categories_seed() == 0
    EventCategory.objects.filter(code="01-02").update(name="改错了", handle_hours=99)
    assert event_categories_seed() == 1
    restored = EventCategory.objects.get(code="01-02")
    assert (restored.name, restored.handle_hours) == ("暴露垃圾", 8)


def test_a_category_of_an_unknown_department_is_refused(db):
    DepartmentFactory(code="urban")
    with pytest.raises(ValidationError) as error:
        event_categories_seed()
    assert error.value.code == "unknown_department"
    assert not EventCategory.objects.exists()


def test_a_malformed_code_is_refused(departments):
    event_categories_seed()
    category = EventCategory.objects.get(code="01-02")
    category.code = "1-2"
    with pytest.raises(ValidationError):
        category.full_clean()


def test_names_follow_the_readers_language(gql, users, departments, token_for):
    event_categories_seed()
    token = token_for(users["worker"])
    chinese = {c["code"]: c for c in gql(CATEGORIES_QUERY, token=token).data["eventCategories"]}
    english = {c["code"]: c for c in gql(CATEGORIES_QUERY, token=token, language="en").data["eventCategories"]}
    assert (chinese["01-02"]["name"], chinese["01-02"]["majorName"]) == ("暴露垃圾", "市容环境")
    assert (english["01-02"]["name"], english["01-02"]["majorName"]) == ("Exposed garbage", "City appearance and environment")
    assert english["01-02"]["departmentName"] == "Sanitation Bureau" and chinese["01-02"]["departmentName"] == "sanitation局"
    assert chinese["04-01"]["severity"] == "URGENT" and chinese["11-01"]["photoRequired"] is False


def test_filter_by_platform_and_inactive_categories_are_hidden(gql, users, departments, token_for):
    event_categories_seed()
    EventCategory.objects.filter(code="01-01").update(active=False)
    token = token_for(users["citizen"])
    social = gql(CATEGORIES_QUERY, {"platform": "SOCIAL_GOVERNANCE"}, token=token).data["eventCategories"]
    assert social and all(c["platform"] == "SOCIAL_GOVERNANCE" for c in social)
    codes = [c["code"] for c in gql(CATEGORIES_QUERY, token=token).data["eventCategories"]]
    assert "01-01" not in codes and codes == sorted(codes)


def test_categories_need_a_token(gql, departments):
    assert gql(CATEGORIES_QUERY).error_codes == ["unauthenticated"]


def test_the_category_list_costs_the_same_queries_for_ten_or_all(gql, users, departments, token_for):
    event_categories_seed()
    token = token_for(users["operator"])
    EventCategory.objects.exclude(code__in=[e.code for e in CATEGORIES[:10]]).update(active=False)
    with CaptureQueriesContext(connection) as few:
        assert len(gql(CATEGORIES_QUERY, token=token).data["eventCategories"]) == 10
    EventCategory.objects.update(active=True)
    with CaptureQueriesContext(connection) as many:
        assert len(gql(CATEGORIES_QUERY, token=token).data["eventCategories"]) == len(CATEGORIES)
    assert len(many) == len(few)

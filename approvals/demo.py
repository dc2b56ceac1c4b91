"""The demo's holders and certificates: `citizen` (刘洋) and `business` (the legal representative of 青岛海韵培训学校,
the private training school of the next issue's first seed case) hold several each.  Only seed_demo imports this."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.identity import credit_code_check, resident_id_check
from approvals.models import Certificate, LicenceKind
from approvals.services import certificate_issue, certificate_renew, holder_register

SCHOOL_CODE = "52370202MJ1234567"
CITIZEN_ID = "37020219850312123"

SCHOOL = [
    ("private_non_enterprise", 800, {"scope": "非学历文化教育培训（艺术、语言）", "address": "青岛市市南区香港中路 10 号",
                                     "legal_representative": "王海", "funds": "50",
                                     "competent_authority": "青岛市市南区教育和体育局"}),
    ("private_school", 800, {"school_type": "非学历文化教育培训", "address": "青岛市市南区香港中路 10 号",
                             "programmes": "美术、书法、英语"}),
    ("public_place_hygiene", 300, {"premises": "青岛市市南区香港中路 10 号 2 层", "place_type": "培训教学场所",
                                   "area": "460"}),
    ("outdoor_advertising", 500, {"location": "香港中路 10 号临街墙面", "area": "12", "medium": "墙面"}),
]
CITIZEN = [
    ("pet_dog", 90, {"dog_name": "豆豆", "breed": "柯基", "born": "2023-04-18", "address": "市南区珠海路 33 号"}),
    ("road_occupation", 10, {"location": "市南区珠海路 33 号门前", "area": "6", "purpose": "搬家临时停放",
                             "occupied_from": "2026-11-22", "occupied_until": "2026-12-20"}),
]


def demo_certificates_create() -> int:
    """Create the demo holders and their certificates once (again: nothing); returns how many certificates
    the two demo accounts hold."""
    users = get_user_model().objects
    business, citizen = users.filter(username="business").first(), users.filter(username="citizen").first()
    if business is None or citizen is None:
        return 0
    school = holder_register(kind="organisation", number=SCHOOL_CODE + credit_code_check(SCHOOL_CODE),
                             name="青岛海韵培训学校", representative=business)
    person = holder_register(kind="person", number=CITIZEN_ID + resident_id_check(CITIZEN_ID), name="刘洋",
                             user=citizen)
    now = timezone.now()
    for holder, certificates in ((school, SCHOOL), (person, CITIZEN)):
        for code, days_ago, fields in certificates:
            kind = LicenceKind.objects.get(code=code)
            if Certificate.objects.filter(holder=holder, kind=kind).exists():
                continue
            issued = now - dt.timedelta(days=days_ago)
            certificate = certificate_issue(kind=kind, holder=holder, fields=fields, valid_from=issued, now=issued)
            if code == "outdoor_advertising":  # renewed last month: the old one is superseded
                certificate_renew(actor=None, certificate_id=certificate.pk, reason="到期换发")
    return Certificate.objects.filter(holder__in=[school, person]).count()

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


# --- applications ------------------------------------------------------------------------------------------------

#: username, display name, department, duty: the staff who hold the two seed cases' steps.
STEP_STAFF = [
    ("civil_clerk", "民政局 受理 孙丽", "civil", "clerk"),
    ("civil_director", "民政局 审批 周明", "civil", "director"),
    ("market_clerk", "市场监管局 受理 吴芳", "market", "clerk"),
    ("ip_examiner", "省知识产权局 审查 郑洁", "province_ip", "examiner"),
    ("ip_director", "省知识产权局 公告 冯涛", "province_ip", "director"),
    ("cnipa_registrar", "国家知识产权局 备案 何静", "cnipa", "registrar"),
]
PRODUCER_CODE = "91370212MA3C12345"


def demo_applications_create(*, password) -> list[tuple[str, str]]:
    """The two seed cases' world, once: the staff on their steps (with duties), the registries' records of the
    school and of 崂山茶业合作社 (whose legal representative is `producer`), the school's renewal drafted and
    ready for `business` to confirm and submit, and the producer's geographical-indication application waiting
    at the provincial office's review.  ``password(username)`` sets each account's password (as seed_demo prints
    it); returns the accounts (username, display name)."""
    from accounts.models import BusinessCapacity, Department, Role
    from approvals.applications import (
        application_act,
        application_confirm,
        application_create,
        application_preview,
        application_submit,
        material_upload,
    )
    from approvals.models import Application, ApplicationKind, RegistryRecord, StaffDuty

    users = get_user_model().objects
    business = users.filter(username="business").first()
    if business is None:
        return []
    accounts = []
    for username, display_name, department, duty in [*STEP_STAFF, ("producer", "崂山茶业合作社 法定代表人", None, "")]:
        user = users.filter(username=username).first() or get_user_model()(username=username)
        user.set_password(password(username))  # as seed_demo prints it, like the other demo accounts
        user.display_name = display_name
        user.role = Role.DEPARTMENT_STAFF if department else Role.BUSINESS
        user.department = Department.objects.get(code=department) if department else None
        user.business_capacity = "" if department else BusinessCapacity.LEGAL_REPRESENTATIVE
        user.save()
        if duty:
            StaffDuty.objects.get_or_create(user=user, role=duty)
        accounts.append((username, display_name))
    school = Certificate.objects.get(holder__representative=business, kind__code="private_non_enterprise",
                                     status="valid").holder
    producer_rep = users.get(username="producer")
    producer = holder_register(kind="organisation", number=PRODUCER_CODE + credit_code_check(PRODUCER_CODE),
                               name="崂山茶业合作社", representative=producer_rep)
    now = timezone.now()
    for source, record, holder, record_id, data in (
            ("social_org_registry", "registration", school, "MF-370202-2019-0815", {"status": "正常", "annual_report": "2025 已年报"}),
            ("school_records", "school", school, "JY-370202-0815", {"permit": "教民137020270001号"}),
            ("enterprise_registry", "business_licence", producer, PRODUCER_CODE, {"name": "崂山茶业合作社"}),
            ("enterprise_registry", "production_site", producer, "LS-TEA-017", {"area": "崂山区北宅街道"})):
        RegistryRecord.objects.get_or_create(source=source, record=record, subject_digest=holder.id_digest,
                                             defaults={"record_id": record_id, "data": data, "updated_at": now})
    if not Application.objects.filter(holder=school).exists():
        application_create(actor=business, kind=ApplicationKind.objects.get(code="private_non_enterprise-renew"),
                           holder=school, basis=Certificate.objects.get(holder=school, kind__code="private_non_enterprise",
                                                                        status="valid"),
                           fields={"funds": "80"})
    if not Application.objects.filter(holder=producer).exists():
        import io

        from PIL import Image

        application = application_create(actor=producer_rep,
                                         kind=ApplicationKind.objects.get(code="geographical_indication-new"),
                                         holder=producer, fields={"product": "崂山绿茶", "indication": "崂山绿茶"})
        report = io.BytesIO()
        Image.new("RGB", (620, 877), (255, 255, 255)).save(report, "PDF")  # the quality report's scan
        report.seek(0)
        material_upload(actor=producer_rep, application_id=application.pk, material="quality_report", upload=report,
                        filename="崂山绿茶质量检验报告.pdf")
        _application, _results, digest = application_preview(actor=producer_rep, application_id=application.pk)
        application_confirm(actor=producer_rep, application_id=application.pk, digest=digest)
        application_submit(actor=producer_rep, application_id=application.pk)
        application_act(actor=users.get(username="market_clerk"), application_id=application.pk, action="approve",
                        note="材料齐全，予以受理")
    return accounts
